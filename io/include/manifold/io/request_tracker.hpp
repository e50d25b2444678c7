#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string_view>
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

  // Writes one JSON-RPC message to the peer.
  using send_fn = std::function<void(protocol::json message)>;

  // One request, start to end, the same on both sides of manifold: sends `method` under a
  // fresh id with `send`; `control` (if any) can cancel it, and the peer then hears
  // notifications/cancelled; at `deadline` the peer hears notifications/cancelled with
  // reason "timeout". Returns how it ended; the caller words the error.
  boost::asio::awaitable<result> exchange(std::string_view method, protocol::json params,
                                          std::chrono::steady_clock::time_point deadline,
                                          std::shared_ptr<protocol::call_control> control,
                                          send_fn send);

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
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // for cancel handles that outlive it
  std::unordered_map<std::int64_t, waiter*> waiting_;
};

}  // namespace manifold::io
