#include "manifold/io/wake_list.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace manifold::io {

namespace asio = boost::asio;

namespace {

// Takes the timer off the list however the frame ends, if the list is still there.
struct parked {
  parked(const std::shared_ptr<std::vector<asio::steady_timer*>>& list, asio::steady_timer* t)
      : timers(list), timer(t) {}
  std::weak_ptr<std::vector<asio::steady_timer*>> timers;
  asio::steady_timer* timer;
  parked(const parked&) = delete;
  parked& operator=(const parked&) = delete;
  ~parked() {
    if (const auto list = timers.lock()) std::erase(*list, timer);
  }
};

}  // namespace

asio::awaitable<bool> wake_list::wait_until(std::chrono::steady_clock::time_point deadline) {
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  timers_->push_back(&timer);
  const parked guard{timers_, &timer};
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  co_return ec == asio::error::operation_aborted;
}

void wake_list::wake_all() {
  for (auto* timer : *timers_) timer->cancel();
}

}  // namespace manifold::io
