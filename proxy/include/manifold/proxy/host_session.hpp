#pragma once

#include <boost/asio/awaitable.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/param_headers.hpp"

namespace manifold::proxy {

// What a session's host told it that outlives one request: set by initialize,
// logging/setLevel and resources/(un)subscribe. An HTTP session sealed into its id
// (http.sessions) carries it to replicas that never saw the initialize.
struct host_session_state {
  std::string protocol_version;  // empty: not initialized
  protocol::json client_capabilities = protocol::json::object();
  protocol::json client_info = protocol::json::object();
  std::string log_level;                   // empty: never set
  std::vector<std::string> subscriptions;  // exposed URIs, sorted
};

// One host's MCP session with manifold: lifecycle, method dispatch, routing of requests to
// upstreams with the host's ids restored on the way back. Requests run concurrently; a slow
// upstream never delays another's replies. Opened by relay::open_session.
// Thread: the io thread. run() keeps the session alive until it returns.
class host_session {
 public:
  host_session() = default;
  host_session(const host_session&) = delete;
  host_session& operator=(const host_session&) = delete;
  virtual ~host_session() = default;

  // Serves until the host closes its side, then waits for in-flight requests to finish
  // (each is bounded by its upstream deadline) and returns.
  virtual boost::asio::awaitable<void> run() = 0;
  // Stops now: the link is closed; in-flight requests are cancelled without replies.
  virtual void stop() = 0;

  [[nodiscard]] virtual host_session_state state() const = 0;
  // Grows each time state() changes.
  [[nodiscard]] virtual std::uint64_t state_changes() const = 0;
  // Before run(): the session continues one initialized elsewhere, with `state` (its
  // protocol version must be set). No initialize is expected; once it runs, requests wait
  // (up to the upstreams' start deadline) until this process's upstreams are started, as
  // they would behind an initialize, and the log level and subscriptions are applied to them.
  virtual void resume(host_session_state state) = 0;
  // Before run(): the Mcp-Param-* headers of the 2026-07-28 HTTP request this session serves
  // (over HTTP each such request has its own session). Its tools/call is refused with -32020
  // when they disagree with the arguments of the tool's x-mcp-header annotations.
  virtual void expect_param_headers(protocol::modern::received_headers headers) = 0;
  // Ends its 2026-07-28 subscriptions/listen streams gracefully (each gets its result, which
  // tells the host the subscription is over), e.g. before a shutdown.
  virtual void end_subscriptions() = 0;
  // 2026-07-28 calls this session started that have not ended yet: calls to handshake-era
  // upstreams that asked for input, waiting for the host's retry (possibly on another
  // session: over HTTP each request has its own). The session must not be stopped before
  // they end (stopping it ends them).
  [[nodiscard]] virtual std::size_t pending_calls() const = 0;
  // Waits until pending_calls() is 0 (each call ends by its deadline at the latest) or the
  // session is stopped.
  virtual boost::asio::awaitable<void> pending_ended() = 0;
};

}  // namespace manifold::proxy
