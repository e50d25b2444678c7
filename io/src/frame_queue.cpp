#include "manifold/io/frame_queue.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace manifold::io {

namespace asio = boost::asio;

void frame_queue::push(std::string message) {
  if (closed_) return;
  queue_.push_back(std::move(message));
  wake();
}

void frame_queue::close() {
  closed_ = true;
  wake();
}

void frame_queue::wake() {
  waiters_.wake_all();
}

asio::awaitable<std::optional<protocol::frame>> frame_queue::pop() {
  while (queue_.empty() && !closed_) {
    co_await waiters_.wait_until(std::chrono::steady_clock::time_point::max());
  }
  if (queue_.empty()) co_return std::nullopt;
  protocol::frame f;
  f.text = std::move(queue_.front());
  f.size = f.text.size();
  queue_.pop_front();
  co_return f;
}

}  // namespace manifold::io
