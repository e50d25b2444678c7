#pragma once

#include <boost/asio/awaitable.hpp>

namespace manifold::proxy {

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
  // Ends its 2026-07-28 subscriptions/listen streams gracefully (each gets its result, which
  // tells the host the subscription is over), e.g. before a shutdown.
  virtual void end_subscriptions() = 0;
};

}  // namespace manifold::proxy
