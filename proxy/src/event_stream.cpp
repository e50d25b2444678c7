#include "event_stream.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace manifold::proxy {

namespace asio = boost::asio;

bool event_stream::push(std::string data) {
  if (finished_) return true;
  trim();
  if (bytes_ + data.size() > max_bytes_) {
    if (lossless_) return false;
    while (!history_.empty() && bytes_ + data.size() > max_bytes_) {
      bytes_ -= history_.front().data.size();
      history_.pop_front();
    }
  }
  bytes_ += data.size();
  history_.push_back({next_seq_++, std::move(data)});
  trim();
  wake();
  return true;
}

// Past the history bound go written events (kept only for resumption) and, on a lossy
// stream, the oldest unwritten ones.
void event_stream::trim() {
  while (history_.size() > history_limit_ && (!lossless_ || history_.front().seq <= delivered)) {
    bytes_ -= history_.front().data.size();
    history_.pop_front();
  }
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
  co_await waiters_.wait_until(deadline);
}

void event_stream::wake() {
  waiters_.wake_all();
}

}  // namespace manifold::proxy
