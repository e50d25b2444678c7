#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "manifold/config/config.hpp"
#include "manifold/upstream/transport.hpp"

namespace manifold::upstream {

// An `exec:` upstream: open() creates an in-process channel pair, starts manifold's own exec
// server (exec/exec_server.hpp) on one end and returns the other, so the client session, the
// catalog, policy, timeouts, cancellation and progress relay treat it like any upstream.
// close(): the server stops; runs in flight are cancelled (their process groups get SIGTERM,
// then SIGKILL) within `budget`.
std::unique_ptr<transport> make_exec_transport(boost::asio::any_io_executor executor,
                                               const config::server_config& server);

}  // namespace manifold::upstream
