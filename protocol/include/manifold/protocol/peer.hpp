#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "manifold/protocol/json_rpc.hpp"

namespace manifold::protocol {

// The outcome of one request: a result, or the error the peer (or manifold on its behalf:
// timeout, closed link) produced. Outcomes are values; they never throw.
struct rpc_reply {
  json result;
  std::optional<rpc_error> error;

  bool cancelled = false;  // the caller cancelled it; nothing is to be sent back

  [[nodiscard]] bool ok() const { return !error.has_value(); }
  static rpc_reply failure(int code, std::string message) {
    return rpc_reply{nullptr, rpc_error{code, std::move(message), std::nullopt}};
  }
};

// Lets a caller cancel a call in flight. The peer sets `cancel` once the request is sent
// and clears it when the call completes; cancelling tells the peer (notifications/cancelled
// with the peer-side id) and completes the call as cancelled, so a late reply is dropped.
struct call_control {
  std::function<void(const std::string& reason)> cancel;
  bool cancelled = false;  // set by whoever cancelled, so late completions are not answered
};

// Whoever can answer a server's input request (sampling/createMessage, elicitation/create,
// roots/list) for a call: the host the call is for. How an MCP 2026-07-28 upstream's
// InputRequiredResult reaches a host.
class input_source {
 public:
  input_source() = default;
  input_source(const input_source&) = delete;
  input_source& operator=(const input_source&) = delete;
  virtual ~input_source() = default;

  // The host's answer to `method` (its result, or why it could not answer). `key` is the
  // upstream's own name for the question (its inputRequests key; empty: none), which a
  // 2026-07-28 host hears again where it can. `control` cancels the question.
  virtual boost::asio::awaitable<rpc_reply> ask(std::string method, json params, std::string key,
                                                std::shared_ptr<call_control> control) = 0;
  // The capabilities the host declared (what a 2026-07-28 upstream hears in the envelope).
  [[nodiscard]] virtual const json& capabilities() const = 0;
};

struct call_options {
  // 0 means the peer's configured default.
  std::chrono::milliseconds timeout{0};
  std::shared_ptr<call_control> control;
  // Who the call is for (the host session), handed back with the request and its reply to
  // whoever watches the peer's traffic (the traffic tap); null: nobody in particular. (Behind
  // a pointer: call_options must survive GCC 12 moving it bitwise when it is built inside a
  // co_await expression, which a std::string with its inline buffer does not.)
  std::shared_ptr<const std::string> tag;
  // The host, for an upstream that asks for input during the call; must outlive the call.
  // Null: nobody can be asked (the call fails clearly if the upstream asks).
  input_source* input = nullptr;
};

// Something manifold can send requests and notifications to: an upstream server.
// The proxy sees upstreams only through this interface.
class rpc_peer {
 public:
  rpc_peer() = default;
  rpc_peer(const rpc_peer&) = delete;
  rpc_peer& operator=(const rpc_peer&) = delete;
  virtual ~rpc_peer() = default;

  // Sends `method` under a fresh peer-side id and waits for the reply or the deadline.
  // Cancelling the awaiting coroutine abandons the request (a late reply is dropped).
  virtual boost::asio::awaitable<rpc_reply> call(std::string method, json params,
                                                 call_options options) = 0;
  virtual void notify(std::string method, json params) = 0;
};

}  // namespace manifold::protocol
