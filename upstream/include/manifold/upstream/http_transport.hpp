#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>
#include <memory>
#include <string>

#include "manifold/config/config.hpp"
#include "manifold/upstream/transport.hpp"

namespace manifold::upstream {

// A network upstream at `server.url`:
// - http: Streamable HTTP. Each message is a POST (Accept: application/json,
//   text/event-stream); JSON and SSE answers are both read; Mcp-Session-Id is kept and sent,
//   MCP-Protocol-Version after initialize; a 404 on a session re-initializes and retries once;
//   a GET stream carries server-initiated messages and resumes with Last-Event-ID; POST
//   streams that end early are resumed the same way; DELETE ends the session; connections are
//   kept alive and reused.
// - sse: the 2024-11-05 HTTP+SSE transport (GET the stream, POST to its `endpoint`).
// - auto: Streamable HTTP, falling back to HTTP+SSE when the initialize POST gets 400, 404
//   or 405, as the specification's backwards-compatibility section describes.
// https URLs use TLS (OpenSSL, peer verification against the system store).
// `subject_token` gives the caller's current token when server.oauth.grant is token_exchange.
std::unique_ptr<transport> make_http_transport(boost::asio::any_io_executor executor,
                                               const config::server_config& server,
                                               const config::limits_config& limits,
                                               std::function<std::string()> subject_token = {});

// A WebSocket upstream (ws:// or wss://): one JSON-RPC message per text frame.
std::unique_ptr<transport> make_websocket_transport(boost::asio::any_io_executor executor,
                                                    const config::server_config& server,
                                                    const config::limits_config& limits);

}  // namespace manifold::upstream
