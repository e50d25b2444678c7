#include <gtest/gtest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <vector>

#include "manifold/access/concurrency_limiter.hpp"
#include "manifold/access/rate_limiter.hpp"

namespace manifold::access {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using time_point = std::chrono::steady_clock::time_point;

struct fake_clock {
  time_point now{std::chrono::hours(1)};
  rate_limiter::clock_fn fn() {
    return [this] { return now; };
  }
};

TEST(token_bucket, refills_at_the_rate_up_to_the_burst) {
  const time_point t0{std::chrono::hours(1)};
  token_bucket b({2.0, 3.0}, t0);
  EXPECT_TRUE(b.take(t0));
  EXPECT_TRUE(b.take(t0));
  EXPECT_TRUE(b.take(t0));
  EXPECT_FALSE(b.take(t0));
  EXPECT_EQ(b.wait_for_one(t0), 500ms);
  EXPECT_EQ(b.wait_for_one(t0 + 200ms), 300ms);
  EXPECT_TRUE(b.take(t0 + 500ms));
  EXPECT_FALSE(b.full(t0 + 1s));
  EXPECT_TRUE(b.full(t0 + 2s));
  EXPECT_DOUBLE_EQ(b.available(t0 + 1h), 3.0);
  EXPECT_DOUBLE_EQ(rate_limit::from({600, std::chrono::minutes(1), 0}).per_second, 10.0);
  EXPECT_DOUBLE_EQ(rate_limit::from({600, std::chrono::minutes(1), 0}).burst, 600.0);
}

TEST(rate_limiter, per_principal_and_per_tool_buckets) {
  fake_clock clock;
  rate_limiter limiter({}, clock.fn());
  rate_plan plan;
  plan.per_principal = {10.0, 3.0};
  plan.per_tool = {1.0, 2.0};
  EXPECT_TRUE(limiter.check("alice", "a", plan).allowed);
  EXPECT_TRUE(limiter.check("alice", "a", plan).allowed);
  auto d = limiter.check("alice", "a", plan);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.scope, limit_scope::tool);
  EXPECT_EQ(d.retry_after, 1000ms);
  EXPECT_TRUE(limiter.check("alice", "b", plan).allowed) << "another tool has its own bucket";
  d = limiter.check("alice", "c", plan);
  EXPECT_FALSE(d.allowed) << "the principal's 3 are spent";
  EXPECT_EQ(d.scope, limit_scope::principal);
  EXPECT_EQ(d.retry_after, 100ms);
  EXPECT_EQ(d.json_rpc_error()["code"], rate_limited_code);
  EXPECT_EQ(d.json_rpc_error()["data"]["retryAfterMs"], 100);
  EXPECT_EQ(d.json_rpc_error()["data"]["scope"], "principal");
  EXPECT_EQ(d.retry_after_seconds(), 1);
  EXPECT_TRUE(limiter.check("bob", "a", plan).allowed) << "another principal has its own buckets";
  clock.now += 100ms;
  EXPECT_TRUE(limiter.check("alice", "c", plan).allowed);
  EXPECT_FALSE(limiter.check("alice", "c", plan).allowed);
}

TEST(rate_limiter, a_refusal_takes_no_token) {
  fake_clock clock;
  rate_limiter limiter({}, clock.fn());
  rate_plan plan;
  plan.per_principal = {1.0, 2.0};
  plan.per_tool = {1.0, 1.0};
  EXPECT_TRUE(limiter.check("p", "t", plan).allowed);
  EXPECT_FALSE(limiter.check("p", "t", plan).allowed);
  EXPECT_TRUE(limiter.check("p", "u", plan).allowed) << "the refused call did not spend the principal's token";
}

TEST(rate_limiter, global_bucket_and_unlimited_plans) {
  fake_clock clock;
  rate_limiter limiter({{5.0, 2.0}}, clock.fn());
  const rate_plan unlimited;
  EXPECT_TRUE(limiter.check("a", "t", unlimited).allowed);
  EXPECT_TRUE(limiter.check("b", "t", unlimited).allowed);
  const auto d = limiter.check("c", "t", unlimited);
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.scope, limit_scope::global);
  EXPECT_EQ(d.retry_after, 200ms);
  EXPECT_EQ(limiter.entries(), 0U) << "unlimited plans keep no buckets";
}

TEST(rate_limiter, tables_are_bounded) {
  fake_clock clock;
  rate_limiter limiter({{}, 100}, clock.fn());
  rate_plan plan;
  plan.per_principal = {1.0, 5.0};
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(limiter.check("p" + std::to_string(i), "t", plan).allowed);
    clock.now += 1ms;
  }
  EXPECT_LE(limiter.entries(), 100U);
  // Idle (full) buckets go first: after a while every bucket is full and forgettable.
  clock.now += 1h;
  EXPECT_TRUE(limiter.check("fresh", "t", plan).allowed);
  EXPECT_LE(limiter.entries(), 100U);
}

template <typename T>
void spawn(asio::io_context& io, asio::awaitable<T> task, std::vector<T>& results) {
  asio::co_spawn(io, std::move(task), [&results](std::exception_ptr e, T value) {
    if (e) std::rethrow_exception(e);
    results.push_back(std::move(value));
  });
}

TEST(concurrency_limiter, waits_in_order_and_hands_slots_over) {
  asio::io_context io;
  concurrency_limiter limiter(2, 2);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::vector<acquire_result> done;
  for (int i = 0; i < 5; ++i) spawn(io, limiter.acquire(deadline), done);
  io.poll();
  ASSERT_EQ(done.size(), 3U) << "2 acquired at once, 1 refused (queue of 2 is full), 2 waiting";
  EXPECT_TRUE(done[0].ok());
  EXPECT_TRUE(done[1].ok());
  EXPECT_EQ(done[2].status, acquire_status::queue_full);
  EXPECT_EQ(limiter.in_use(), 2U);
  EXPECT_EQ(limiter.waiting(), 2U);
  done[0].slot.release();
  io.poll();
  ASSERT_EQ(done.size(), 4U);
  EXPECT_TRUE(done[3].ok());
  EXPECT_EQ(limiter.in_use(), 2U) << "the slot moved to the first waiter";
  done[1] = acquire_result{};  // the permit's destructor releases too
  io.poll();
  ASSERT_EQ(done.size(), 5U);
  EXPECT_TRUE(done[4].ok());
  done.clear();
  EXPECT_TRUE(limiter.idle());
}

TEST(concurrency_limiter, a_wait_ends_at_its_deadline) {
  asio::io_context io;
  concurrency_limiter limiter(1, 4);
  auto held = limiter.try_acquire();
  ASSERT_TRUE(held);
  EXPECT_FALSE(limiter.try_acquire());
  std::vector<acquire_result> done;
  spawn(io, limiter.acquire(std::chrono::steady_clock::now() + 20ms), done);
  spawn(io, limiter.acquire(std::chrono::steady_clock::now() - 1ms), done);
  io.run();
  ASSERT_EQ(done.size(), 2U);
  EXPECT_EQ(done[0].status, acquire_status::timed_out) << "a past deadline refuses at once";
  EXPECT_EQ(done[1].status, acquire_status::timed_out);
  EXPECT_EQ(limiter.waiting(), 0U);
  held->release();
  EXPECT_TRUE(limiter.idle());
}

TEST(concurrency_limiter, a_cancelled_waiter_leaves_the_queue) {
  asio::io_context io;
  concurrency_limiter limiter(1, 4);
  auto held = limiter.try_acquire();
  asio::cancellation_signal cancel;
  std::optional<acquire_result> result;
  asio::co_spawn(io, limiter.acquire(std::chrono::steady_clock::now() + 10s),
                 asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr, acquire_result r) {
                   result = std::move(r);
                 }));
  io.poll();
  EXPECT_EQ(limiter.waiting(), 1U);
  cancel.emit(asio::cancellation_type::terminal);
  io.poll();
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, acquire_status::cancelled);
  EXPECT_EQ(limiter.waiting(), 0U);
  held->release();
  EXPECT_TRUE(limiter.idle());
}

TEST(concurrency_limiter, a_slot_granted_to_a_destroyed_waiter_comes_back) {
  concurrency_limiter limiter(1, 4);
  auto held = limiter.try_acquire();
  {
    asio::io_context io;
    asio::co_spawn(io, limiter.acquire(std::chrono::steady_clock::now() + 10s), asio::detached);
    io.poll();
    EXPECT_EQ(limiter.waiting(), 1U);
    held->release();  // granted to the waiter, which never resumes: the io_context goes away
    EXPECT_EQ(limiter.in_use(), 1U);
  }
  EXPECT_TRUE(limiter.idle()) << "the frame's destruction gave the slot back";
}

TEST(concurrency_limiter, raising_the_limit_admits_waiters) {
  asio::io_context io;
  concurrency_limiter limiter(1, 4);
  auto held = limiter.try_acquire();
  std::vector<acquire_result> done;
  spawn(io, limiter.acquire(std::chrono::steady_clock::now() + 10s), done);
  io.poll();
  EXPECT_TRUE(done.empty());
  limiter.set_limit(2);
  io.poll();
  ASSERT_EQ(done.size(), 1U);
  EXPECT_TRUE(done[0].ok());
}

TEST(concurrency_table, per_key_limits_bounded_keys) {
  asio::io_context io;
  concurrency_table table(1, 2);
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  std::vector<acquire_result> done;
  spawn(io, table.acquire("alice", 1, deadline), done);
  spawn(io, table.acquire("bob", 1, deadline), done);
  spawn(io, table.acquire("carol", 1, deadline), done);
  spawn(io, table.acquire("dave", 0, deadline), done);
  io.poll();
  ASSERT_EQ(done.size(), 4U);
  EXPECT_TRUE(done[0].ok());
  EXPECT_TRUE(done[1].ok());
  EXPECT_EQ(done[2].status, acquire_status::queue_full) << "two keys, both busy";
  EXPECT_TRUE(done[3].ok()) << "limit 0: no cap";
  EXPECT_FALSE(done[3].slot.held());
  done[0].slot.release();
  spawn(io, table.acquire("carol", 1, deadline), done);
  io.restart();  // the first poll ran out of work
  io.poll();
  ASSERT_EQ(done.size(), 5U);
  EXPECT_TRUE(done[4].ok()) << "alice's idle limiter made room";
  EXPECT_EQ(table.size(), 2U);
}

}  // namespace
}  // namespace manifold::access
