#pragma once

#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <memory>

#include "manifold/protocol/channel.hpp"

namespace manifold::io {

namespace asio = boost::asio;

// A newline-delimited JSON-RPC channel over a pair of pipes: manifold's own stdin/stdout
// (the host link) or a child's stdout/stdin (an upstream link). Inbound lines longer than
// `max_message` bytes are reported as oversized frames and skipped.
std::shared_ptr<protocol::channel> make_pipe_channel(asio::readable_pipe in,
                                                     asio::writable_pipe out,
                                                     std::size_t max_message);

}  // namespace manifold::io
