#pragma once

// Private to proxy/: one SSE stream of a Streamable HTTP session, kept with a bounded
// history so that a client can resume it (GET + Last-Event-ID) after a dropped connection.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <string>
#include <vector>

#include "manifold/io/wake_list.hpp"

namespace manifold::proxy {

struct sse_event {
  std::uint64_t seq = 0;
  std::string data;  // one JSON-RPC message
};

// Thread: the io thread. Written by the session, read by at most one connection at a time.
// Events a connection has written are kept for resumption up to `history_limit`. Events not
// yet written are kept up to `max_bytes` in all: a lossless stream (one that carries
// responses) then overflows (push() answers false) and its session must end; a lossy one (the
// Streamable HTTP GET stream, which a client need not open) drops its oldest events.
class event_stream {
 public:
  event_stream(std::string id, std::size_t history_limit, std::size_t max_bytes, bool lossless)
      : id_(std::move(id)), history_limit_(history_limit), max_bytes_(max_bytes),
        lossless_(lossless) {}

  [[nodiscard]] const std::string& id() const { return id_; }
  // "<stream>:<seq>" for the SSE `id:` field.
  [[nodiscard]] std::string event_id(std::uint64_t seq) const { return id_ + ":" + std::to_string(seq); }

  // False when a lossless stream could not take `data` (the reader fell too far behind).
  bool push(std::string data);
  [[nodiscard]] std::size_t bytes() const { return bytes_; }
  // No more events will follow (the response was pushed, or the session ended).
  void finish();
  [[nodiscard]] bool finished() const { return finished_; }
  // Events after `seq` still held (older ones beyond the history bound are gone).
  [[nodiscard]] std::vector<sse_event> since(std::uint64_t seq) const;
  [[nodiscard]] std::uint64_t last_seq() const { return next_seq_ - 1; }
  // Waits until an event after `seq` exists, the stream finished, or the deadline passed.
  boost::asio::awaitable<void> wait(std::uint64_t seq, std::chrono::steady_clock::time_point deadline);

  // The connection writing this stream: a newer one (resumption) takes over, and the older
  // writer stops at its next wake-up.
  std::uint64_t attach() {
    owner_ = ++owners_;
    wake();
    return owner_;
  }
  void detach(std::uint64_t owner) {
    if (owner_ == owner) owner_ = 0;
  }
  [[nodiscard]] bool attached() const { return owner_ != 0; }
  [[nodiscard]] bool owned_by(std::uint64_t owner) const { return owner_ == owner; }

  std::uint64_t delivered = 0;  // the last event a connection wrote

 private:
  void wake();

  void trim();

  std::string id_;
  std::size_t history_limit_;
  std::size_t max_bytes_;
  bool lossless_;
  std::size_t bytes_ = 0;
  std::deque<sse_event> history_;
  std::uint64_t next_seq_ = 1;
  bool finished_ = false;
  io::wake_list waiters_;
  std::uint64_t owner_ = 0;
  std::uint64_t owners_ = 0;
};

}  // namespace manifold::proxy
