#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>

namespace manifold::access {

struct limiter_state;

// One slot of a concurrency_limiter, released when destroyed (or by release()). Move-only;
// may outlive its limiter (then releasing does nothing).
class permit {
 public:
  permit() = default;
  permit(const permit&) = delete;
  permit& operator=(const permit&) = delete;
  permit(permit&& other) noexcept;
  permit& operator=(permit&& other) noexcept;
  ~permit();

  [[nodiscard]] bool held() const { return state_ != nullptr; }
  void release();

 private:
  friend class concurrency_limiter;
  explicit permit(std::shared_ptr<limiter_state> state) : state_(std::move(state)) {}
  std::shared_ptr<limiter_state> state_;
};

enum class acquire_status { acquired, queue_full, timed_out, cancelled };

std::string_view to_string(acquire_status status);

struct acquire_result {
  acquire_status status = acquire_status::acquired;
  permit slot;
  [[nodiscard]] bool ok() const { return status == acquire_status::acquired; }
};

// At most `limit` holders at once; further callers wait in FIFO order in a queue of at most
// `max_queue` entries, each until its deadline. Thread: the io thread (one executor).
class concurrency_limiter {
 public:
  concurrency_limiter(std::size_t limit, std::size_t max_queue);

  // A slot now, or after waiting in the queue until `deadline`. Refused at once when the
  // queue is full. Cancelling the awaiting coroutine leaves the queue (status cancelled);
  // a slot handed to a coroutine destroyed before it resumed is passed on.
  boost::asio::awaitable<acquire_result> acquire(std::chrono::steady_clock::time_point deadline);
  // A slot if one is free and nobody waits; otherwise none.
  std::optional<permit> try_acquire();

  // Raising the limit admits waiters at once; lowering it takes effect as slots come back.
  void set_limit(std::size_t limit);
  [[nodiscard]] std::size_t limit() const;
  [[nodiscard]] std::size_t in_use() const;
  [[nodiscard]] std::size_t waiting() const;
  [[nodiscard]] bool idle() const { return in_use() == 0 && waiting() == 0; }

 private:
  std::shared_ptr<limiter_state> state_;
};

// Limiters by key (principal, upstream), created on first use and dropped when idle; at most
// `max_keys` of them (beyond that, and with none idle, acquire refuses as queue_full).
class concurrency_table {
 public:
  explicit concurrency_table(std::size_t max_queue, std::size_t max_keys = 10'000);

  // `limit` 0: no cap (acquired at once, the permit holds nothing).
  boost::asio::awaitable<acquire_result> acquire(std::string key, std::size_t limit,
                                                 std::chrono::steady_clock::time_point deadline);
  [[nodiscard]] std::size_t size() const { return limiters_.size(); }

 private:
  std::size_t max_queue_;
  std::size_t max_keys_;
  std::unordered_map<std::string, std::unique_ptr<concurrency_limiter>> limiters_;
};

}  // namespace manifold::access
