#include "manifold/io/event.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace manifold::io {

void event::set() {
  set_ = true;
  waiters_.wake_all();
}

asio::awaitable<bool> event::wait_until(std::chrono::steady_clock::time_point deadline) {
  if (set_) co_return true;
  co_await waiters_.wait_until(deadline);
  co_return set_;
}

}  // namespace manifold::io
