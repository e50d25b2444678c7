#pragma once

// Private to proxy/: a protocol::channel over a WebSocket, one JSON-RPC message per text
// frame (as the TypeScript SDK's WebSocket transport does).

#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <memory>

#include "manifold/protocol/channel.hpp"

namespace manifold::proxy {

using ws_stream = boost::beast::websocket::stream<boost::beast::tcp_stream>;

std::shared_ptr<protocol::channel> make_ws_channel(std::shared_ptr<ws_stream> ws);

}  // namespace manifold::proxy
