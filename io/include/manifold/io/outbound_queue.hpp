#pragma once

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>

namespace manifold::io {

// How much may wait for one peer, and how long one write to it may take: a peer that lets
// more pile up, or takes longer, has stopped reading and is disconnected (never unbounded
// memory, never a writer stuck forever).
struct channel_limits {
  std::size_t max_queued_bytes = 64 * 1024 * 1024;
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
};

// Messages waiting for a channel's single writer, bounded in bytes. Thread: the io thread.
class outbound_queue {
 public:
  explicit outbound_queue(std::size_t max_bytes) : max_bytes_(max_bytes) {}

  // False (and nothing queued) when `message` would take the queue past its bound.
  bool push(std::string message);
  [[nodiscard]] bool empty() const { return messages_.empty(); }
  // Moves up to `max_messages` messages into `batch` (appended).
  void take(std::deque<std::string>::size_type max_messages, std::deque<std::string>& batch);
  std::string pop();
  void clear();
  [[nodiscard]] std::size_t bytes() const { return bytes_; }

 private:
  std::size_t max_bytes_;
  std::size_t bytes_ = 0;
  std::deque<std::string> messages_;
};

}  // namespace manifold::io
