// Waiting coroutines whose frames are destroyed without resuming (the io_context torn down
// while they are parked, as when a command ends) must leave nothing behind that a later
// wake-up would touch. Under AddressSanitizer a dangling timer here is a use-after-free.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>

#include "manifold/io/event.hpp"
#include "manifold/io/frame_queue.hpp"
#include "manifold/io/request_tracker.hpp"
#include "manifold/io/wake_list.hpp"

namespace manifold::io {
namespace {

namespace asio = boost::asio;
constexpr auto forever = std::chrono::steady_clock::time_point::max();

// Runs `park` on an io_context until it suspends, then destroys the io_context with it parked.
template <typename Park>
void park_then_tear_down(Park park) {
  asio::io_context io;
  asio::co_spawn(io, park(), asio::detached);
  io.poll();
}

TEST(teardown, wake_list_forgets_a_waiter_destroyed_unresumed) {
  wake_list list;
  park_then_tear_down([&]() -> asio::awaitable<void> { co_await list.wait_until(forever); });
  EXPECT_TRUE(list.empty());
  list.wake_all();
}

// The other order, as when `serve` ends: the object that owned the list (a relay's event, a
// session's queue) is destroyed first, and the io_context destroys the parked frame after it.
TEST(teardown, a_waiter_destroyed_after_its_list_leaves_the_list_alone) {
  asio::io_context io;
  auto list = std::make_unique<wake_list>();
  auto gone = std::make_unique<event>();
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { co_await list->wait_until(forever); }, asio::detached);
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { (void)co_await gone->wait_until(forever); }, asio::detached);
  io.poll();
  EXPECT_FALSE(list->empty());
  list.reset();
  gone.reset();
  // ~io_context destroys both frames now; under AddressSanitizer a touch of either list fails.
}

TEST(teardown, frame_queue_close_after_its_reader_was_destroyed) {
  frame_queue queue;
  park_then_tear_down([&]() -> asio::awaitable<void> { (void)co_await queue.pop(); });
  queue.push("late");
  queue.close();
}

TEST(teardown, event_set_after_its_waiter_was_destroyed) {
  event e;
  park_then_tear_down([&]() -> asio::awaitable<void> { (void)co_await e.wait_until(forever); });
  e.set();
  EXPECT_TRUE(e.is_set());
}

TEST(teardown, request_tracker_forgets_a_waiter_destroyed_unresumed) {
  request_tracker tracker;
  const auto id = tracker.next_id();
  park_then_tear_down([&]() -> asio::awaitable<void> { (void)co_await tracker.wait(id, forever); });
  EXPECT_EQ(tracker.in_flight(), 0U);
  EXPECT_FALSE(tracker.deliver(protocol::json(id), protocol::rpc_reply{protocol::json::object(), std::nullopt}));
  tracker.fail_all(protocol::rpc_reply::failure(-32000, "closed"));
}

}  // namespace
}  // namespace manifold::io
