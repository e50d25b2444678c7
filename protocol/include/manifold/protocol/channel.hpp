#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "manifold/protocol/json_rpc.hpp"
#include "manifold/protocol/line_framer.hpp"

namespace manifold::protocol {

// What a link is, for traces and the traffic tap: the session id the peer knows it by
// (Streamable HTTP's Mcp-Session-Id; empty when the transport has none) and its OTel
// `network.transport` ("pipe" for stdio, "tcp" for sockets).
struct link_description {
  std::string_view session_id{};
  std::string_view network_transport = "pipe";
};

// One bidirectional link that carries JSON-RPC messages as text: a host's stdio, a child
// process's pipes, later an HTTP session or a WebSocket. Implementations own the framing.
//
// Contract: all calls are made from the one thread that runs the link's executor.
// send() never blocks and never interleaves two messages; messages leave in call order.
// receive() must not be called again before the previous call completes.
class channel {
 public:
  channel() = default;
  channel(const channel&) = delete;
  channel& operator=(const channel&) = delete;
  virtual ~channel() = default;

  // Queues one serialized message (without its trailing newline).
  virtual void send(std::string message) = 0;
  // The same, for a message that belongs to the host request `request_id` (its response, or
  // a notification or request sent while it is processed). Transports with one stream per
  // request (Streamable HTTP) put it on that request's stream; others just send it.
  virtual void send_related(std::string message, const json& request_id) {
    (void)request_id;
    send(std::move(message));
  }
  // The next inbound frame, or nullopt once the peer has closed its side.
  virtual boost::asio::awaitable<std::optional<frame>> receive() = 0;
  // The host request `request_id` will get no response (the host cancelled it): transports
  // with a stream per request end that stream.
  virtual void end_related(const json& request_id) { (void)request_id; }
  // Stops sending: messages already queued are written, then the outbound side closes.
  virtual void close_outbound() = 0;
  // Waits until every queued message is written (or can never be). False at the deadline.
  virtual boost::asio::awaitable<bool> flush(std::chrono::steady_clock::time_point deadline) = 0;
  // Closes both directions now; a pending receive() completes with nullopt.
  virtual void close() = 0;
  // Messages queued but not yet written.
  [[nodiscard]] virtual std::size_t queued() const = 0;
  [[nodiscard]] virtual link_description describe() const { return {}; }
};

}  // namespace manifold::protocol
