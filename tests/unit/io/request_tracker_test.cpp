// The id mapping both link ends use: manifold's own integer ids for requests it sends, each
// answered once, late or foreign answers dropped. Runs on an io_context, without sockets.
#include "manifold/io/request_tracker.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

namespace manifold::io {
namespace {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;
using protocol::json;

template <typename F>
void run(F body) {
  asio::io_context io;
  asio::co_spawn(io, body(), [](const std::exception_ptr& e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
}

TEST(request_tracker, replies_reach_their_own_waiter_in_any_order) {
  run([]() -> asio::awaitable<void> {
    request_tracker t;
    const auto a = t.next_id();
    const auto b = t.next_id();
    EXPECT_NE(a, b);
    auto executor = co_await asio::this_coro::executor;
    asio::post(executor, [&t, a, b] {
      EXPECT_TRUE(t.deliver(json(b), {json("for b"), std::nullopt}));
      EXPECT_TRUE(t.deliver(json(a), {json("for a"), std::nullopt}));
    });
    std::optional<request_tracker::result> ra;
    std::optional<request_tracker::result> rb;
    asio::co_spawn(executor, [&]() -> asio::awaitable<void> {
      ra = co_await t.wait(a, clock::now() + std::chrono::seconds(5));
    }, asio::detached);
    rb = co_await t.wait(b, clock::now() + std::chrono::seconds(5));
    while (!ra) co_await asio::post(executor, asio::use_awaitable);
    EXPECT_EQ(ra->reply.result, "for a");
    EXPECT_EQ(rb->reply.result, "for b");
    EXPECT_EQ(t.in_flight(), 0U);
  });
}

TEST(request_tracker, unknown_late_and_foreign_ids_are_refused) {
  run([]() -> asio::awaitable<void> {
    request_tracker t;
    const auto id = t.next_id();
    EXPECT_FALSE(t.deliver(json(id + 100), {json(1), std::nullopt})) << "never sent";
    EXPECT_FALSE(t.deliver(json(std::to_string(id)), {json(1), std::nullopt})) << "a string is not our id";
    const auto r = co_await t.wait(id, clock::now() + std::chrono::milliseconds(1));
    EXPECT_EQ(r.how, request_tracker::outcome::timed_out);
    EXPECT_FALSE(t.deliver(json(id), {json(1), std::nullopt})) << "too late";
  });
}

TEST(request_tracker, cancel_and_fail_all_complete_waiters_once) {
  run([]() -> asio::awaitable<void> {
    request_tracker t;
    const auto id = t.next_id();
    auto executor = co_await asio::this_coro::executor;
    asio::post(executor, [&t, id] {
      EXPECT_TRUE(t.cancel(id));
      EXPECT_FALSE(t.deliver(json(id), {json(1), std::nullopt})) << "a cancelled request takes no reply";
    });
    auto r = co_await t.wait(id, clock::now() + std::chrono::seconds(5));
    EXPECT_EQ(r.how, request_tracker::outcome::cancelled);

    const auto other = t.next_id();
    asio::post(executor, [&t] { t.fail_all(protocol::rpc_reply::failure(-32000, "closed")); });
    r = co_await t.wait(other, clock::now() + std::chrono::seconds(5));
    EXPECT_EQ(r.how, request_tracker::outcome::replied);
    EXPECT_EQ(r.reply.error->code, -32000);
  });
}

}  // namespace
}  // namespace manifold::io
