#include "manifold/io/outbound_queue.hpp"

namespace manifold::io {

bool outbound_queue::push(std::string message) {
  if (bytes_ + message.size() > max_bytes_) return false;
  bytes_ += message.size();
  messages_.push_back(std::move(message));
  return true;
}

void outbound_queue::take(std::deque<std::string>::size_type max_messages,
                          std::deque<std::string>& batch) {
  for (std::deque<std::string>::size_type i = 0; i < max_messages && !messages_.empty(); ++i) {
    batch.push_back(pop());
  }
}

std::string outbound_queue::pop() {
  auto out = std::move(messages_.front());
  messages_.pop_front();
  bytes_ -= out.size();
  return out;
}

void outbound_queue::clear() {
  messages_.clear();
  bytes_ = 0;
}

}  // namespace manifold::io
