#pragma once

#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <memory>

#include "manifold/io/outbound_queue.hpp"
#include "manifold/protocol/channel.hpp"

namespace manifold::io {

// A newline-delimited JSON-RPC channel over a pair of pipes: manifold's own stdin/stdout
// (the host link) or a child's stdout/stdin (an upstream link). Inbound lines longer than
// `max_message` bytes are reported as oversized frames and skipped. A peer that stops
// reading (more than limits.max_queued_bytes waiting, or one write outlasting
// limits.write_timeout) is disconnected: both directions close and receive() ends.
std::shared_ptr<protocol::channel> make_pipe_channel(boost::asio::readable_pipe in,
                                                     boost::asio::writable_pipe out,
                                                     std::size_t max_message,
                                                     channel_limits limits = {});

}  // namespace manifold::io
