#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <memory>

#include "manifold/io/outbound_queue.hpp"
#include "manifold/protocol/channel.hpp"

namespace manifold::proxy {

// The host link over manifold's own stdin/stdout. stdout then belongs to the protocol alone.
// Throws std::runtime_error when stdin or stdout cannot be used asynchronously (for example
// a regular file instead of a pipe).
std::shared_ptr<protocol::channel> open_stdio_link(boost::asio::any_io_executor executor,
                                                   std::size_t max_message_bytes,
                                                   io::channel_limits limits);

}  // namespace manifold::proxy
