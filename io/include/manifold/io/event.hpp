#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <vector>

#include "manifold/io/wake_list.hpp"

namespace manifold::io {

namespace asio = boost::asio;

// A one-shot, manual-reset event for coroutines on one executor: set() once, and every
// waiter, now or later, resumes. Waits always carry a deadline.
// Thread: all calls from the executor's thread.
class event {
 public:
  event() = default;
  event(const event&) = delete;
  event& operator=(const event&) = delete;

  void set();
  [[nodiscard]] bool is_set() const { return set_; }
  // True when set, false when the deadline passed first.
  asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline);

 private:
  bool set_ = false;
  wake_list waiters_;
};

}  // namespace manifold::io
