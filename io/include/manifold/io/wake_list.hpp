#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <memory>
#include <vector>

namespace manifold::io {

// Coroutines parked until something happens, woken all at once: the one way the io classes
// (event, frame_queue, event_stream, pipe flush) wait. Each parked coroutine waits on a timer
// in its own frame; the timer leaves the list when the coroutine resumes, and also when its
// frame is destroyed without resuming (the io_context torn down with the coroutine parked),
// so a later wake_all() never touches a dead timer. A frame destroyed after the list (the
// io_context torn down after the object that owned the list) leaves the list alone.
// Thread: the io thread.
class wake_list {
 public:
  wake_list() = default;
  wake_list(const wake_list&) = delete;
  wake_list& operator=(const wake_list&) = delete;

  // Parks until wake_all() or `deadline`; true when woken.
  boost::asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline);
  void wake_all();
  [[nodiscard]] bool empty() const { return timers_->empty(); }

 private:
  // Shared with the parked waiters (weakly), which take their timer off it on the way out.
  std::shared_ptr<std::vector<boost::asio::steady_timer*>> timers_ =
      std::make_shared<std::vector<boost::asio::steady_timer*>>();
};

}  // namespace manifold::io
