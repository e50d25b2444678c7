#include "event_stream.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace manifold::proxy {

namespace asio = boost::asio;

void event_stream::push(std::string data) {
  if (finished_) return;
  history_.push_back({next_seq_++, std::move(data)});
  while (history_.size() > history_limit_) history_.pop_front();
  wake();
}

void event_stream::finish() {
  finished_ = true;
  wake();
}

std::vector<sse_event> event_stream::since(std::uint64_t seq) const {
  std::vector<sse_event> out;
  for (const auto& e : history_) {
    if (e.seq > seq) out.push_back(e);
  }
  return out;
}

asio::awaitable<void> event_stream::wait(std::uint64_t seq,
                                         std::chrono::steady_clock::time_point deadline) {
  if (finished_ || last_seq() > seq) co_return;
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  waiters_.push_back(&timer);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  std::erase(waiters_, static_cast<void*>(&timer));
}

void event_stream::wake() {
  for (auto* w : waiters_) static_cast<asio::steady_timer*>(w)->cancel();
}

}  // namespace manifold::proxy
