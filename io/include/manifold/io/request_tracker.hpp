#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <optional>
#include <unordered_map>

#include "manifold/protocol/peer.hpp"

namespace manifold::io {

// Requests this side sent and is waiting on, keyed by the integer ids this side minted.
// Used by both ends of manifold: the upstream client and the host session (for requests
// manifold sends to a host). Thread: the io thread.
class request_tracker {
 public:
  enum class outcome { replied, timed_out, cancelled };

  struct result {
    outcome how = outcome::replied;
    protocol::rpc_reply reply;  // set when replied (or failed by fail_all / abandon)
  };

  request_tracker() = default;
  request_tracker(const request_tracker&) = delete;
  request_tracker& operator=(const request_tracker&) = delete;

  std::int64_t next_id() { return next_id_++; }
  // Waits for `id` until `deadline`. Register with next_id() before sending the request.
  boost::asio::awaitable<result> wait(std::int64_t id, std::chrono::steady_clock::time_point deadline);
  // Completes the waiter of `id` with `reply`; false when nobody waits (late or unknown).
  bool deliver(const protocol::json& id, protocol::rpc_reply reply);
  // Completes the waiter of `id` as cancelled; the caller decides what to tell the peer.
  bool cancel(std::int64_t id);
  // Completes every waiter with `reply` (the link closed).
  void fail_all(const protocol::rpc_reply& reply);
  [[nodiscard]] std::size_t in_flight() const { return waiting_.size(); }

 private:
  struct waiter;
  std::int64_t next_id_ = 1;
  std::unordered_map<std::int64_t, waiter*> waiting_;
};

}  // namespace manifold::io
