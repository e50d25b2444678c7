#include "manifold/io/event.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace manifold::io {

void event::set() {
  set_ = true;
  for (auto* timer : waiters_) timer->cancel();
}

asio::awaitable<bool> event::wait_until(std::chrono::steady_clock::time_point deadline) {
  if (set_) co_return true;
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  waiters_.push_back(&timer);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  std::erase(waiters_, &timer);
  co_return set_;
}

}  // namespace manifold::io
