#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "manifold/config/config.hpp"
#include "manifold/upstream/transport.hpp"

namespace manifold::upstream {

// A stdio upstream: the configured command started with Boost.Process v2 from an exact argv
// (no shell), with its env and cwd, in a process group of its own that dies with manifold.
// Its stderr is logged line by line, tagged with the server name.
// close(): close its stdin, wait, SIGTERM the group, wait, SIGKILL the group.
std::unique_ptr<transport> make_stdio_transport(boost::asio::any_io_executor executor,
                                                const config::server_config& server,
                                                const config::limits_config& limits);

}  // namespace manifold::upstream
