#pragma once

// A protocol::channel over a WebSocket, one JSON-RPC message per text frame (as the
// TypeScript SDK's WebSocket transport does), for a plain or a TLS stream. Pulls in Beast:
// include it only in .cpp files.

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <memory>

#include "manifold/io/outbound_queue.hpp"
#include "manifold/protocol/channel.hpp"

namespace manifold::io {

using ws_stream = boost::beast::websocket::stream<boost::beast::tcp_stream>;
using wss_stream =
    boost::beast::websocket::stream<boost::beast::ssl_stream<boost::beast::tcp_stream>>;

// The stream is open (handshake done). One writer; a peer that stops reading (more than
// limits.max_queued_bytes waiting, or one write outlasting limits.write_timeout) is
// disconnected. A message over the stream's read_message_max is an oversized frame, after
// which the WebSocket fails (Beast closes it with "message too big").
std::shared_ptr<protocol::channel> make_ws_channel(std::shared_ptr<ws_stream> ws,
                                                   channel_limits limits);
std::shared_ptr<protocol::channel> make_ws_channel(std::shared_ptr<wss_stream> ws,
                                                   channel_limits limits);

}  // namespace manifold::io
