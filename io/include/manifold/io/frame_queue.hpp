#pragma once

#include <boost/asio/awaitable.hpp>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "manifold/io/wake_list.hpp"
#include "manifold/protocol/line_framer.hpp"

namespace manifold::io {

// Inbound messages waiting for a channel's receive(): pushed by whoever reads the wire (an
// HTTP handler, an SSE reader), taken one at a time by the session. After close(), pop()
// drains what is left and then yields nullopt. Thread: the io thread.
class frame_queue {
 public:
  void push(std::string message);
  void close();
  [[nodiscard]] bool closed() const { return closed_; }
  boost::asio::awaitable<std::optional<protocol::frame>> pop();

 private:
  void wake();

  std::deque<std::string> queue_;
  wake_list waiters_;
  bool closed_ = false;
};

}  // namespace manifold::io
