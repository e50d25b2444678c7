#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>

#include "manifold/protocol/channel.hpp"
#include "manifold/proxy/backend.hpp"

namespace manifold::proxy {

struct session_options {
  std::size_t max_message_bytes = 4 * 1024 * 1024;
};

// One host's MCP session with manifold: lifecycle, method dispatch, routing of calls to
// upstreams with the host's ids restored on the way back. Requests run concurrently; a slow
// upstream never delays another's replies.
// Thread: the io thread. Owned by its listener; run() keeps it alive until it returns.
class host_session {
 public:
  host_session() = default;
  host_session(const host_session&) = delete;
  host_session& operator=(const host_session&) = delete;
  virtual ~host_session() = default;

  // Serves until the host closes its side, then waits for in-flight requests to finish
  // (each is bounded by its upstream deadline) and returns.
  virtual boost::asio::awaitable<void> run() = 0;
  // Stops now: the link is closed; in-flight requests end without replies.
  virtual void stop() = 0;
};

std::shared_ptr<host_session> make_host_session(boost::asio::any_io_executor executor,
                                                std::shared_ptr<protocol::channel> link,
                                                backend& backend, session_options options);

}  // namespace manifold::proxy
