#pragma once

// Private to proxy/: the host methods a session serves, as a table of small handlers. A
// handler gets the request's context and its params (an object), and answers with a result,
// a JSON-RPC error, or nothing (the host cancelled). Params from the host are untrusted:
// every handler reads them through the checked accessors and answers -32602 when a field
// is missing or wrongly typed.

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "manifold/namespace/view.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/peer.hpp"
#include "answer.hpp"
#include "relay_impl.hpp"

namespace manifold::proxy {

// What a handler sees of the host session that received the request.
class session_api {
 public:
  session_api() = default;
  session_api(const session_api&) = delete;
  session_api& operator=(const session_api&) = delete;
  virtual ~session_api() = default;

  [[nodiscard]] virtual std::uint64_t id() const = 0;
  [[nodiscard]] virtual const json& client_capabilities() const = 0;
  virtual void set_log_threshold(int severity) = 0;
  // The host subscribed to (or unsubscribed from) exposed `uri`.
  virtual void note_subscription(const std::string& uri, bool subscribed) = 0;
  // Equal for sessions that see the same view (group and roles).
  [[nodiscard]] virtual const std::string& view_key() const = 0;
  // Who is calling: its principal (never null) and roles (null: unrestricted, no gate).
  [[nodiscard]] virtual const session_identity& identity() const = 0;
  // How the operator knows the session (its Mcp-Session-Id, or its number): tap records.
  [[nodiscard]] virtual const std::string& label() const = 0;
  // The Mcp-Param-* headers of the 2026-07-28 HTTP request being served; null for any
  // other request (stdio, WebSocket, handshake-era HTTP), which has none to check.
  [[nodiscard]] virtual const protocol::modern::received_headers* param_headers() const = 0;
};

class call_observer;

// One host request being served.
struct request_context {
  session_api& session;
  relay_impl& hub;
  std::string method;
  json id;  // the host's id, as it came
  std::shared_ptr<protocol::call_control> control;
  // The view when the request arrived: a catalog swap never changes a request in flight.
  std::shared_ptr<const ns::view> view;
  // Its metrics, spans and recent-call entry (call_observer.hpp); null: nothing recorded.
  call_observer* observer = nullptr;
};

using method_handler = boost::asio::awaitable<answer> (*)(request_context&, json params);

// The handler of `method` (every method after initialize), or null when manifold has none.
method_handler find_method(std::string_view method);

// Sends `method` to upstream `server` for the request in `ctx`: the host's progress token
// mapped to one unique across upstreams, cancellation wired, and the call registered so that
// requests the upstream sends while it runs reach this session.
boost::asio::awaitable<protocol::rpc_reply> forward(request_context& ctx, const std::string& server,
                                                    std::string method, json params);

// The handlers, by the file that holds them.
// list_methods.cpp
boost::asio::awaitable<answer> list_tools(request_context& ctx, json params);
boost::asio::awaitable<answer> list_prompts(request_context& ctx, json params);
boost::asio::awaitable<answer> list_resources(request_context& ctx, json params);
boost::asio::awaitable<answer> list_resource_templates(request_context& ctx, json params);
// tool_methods.cpp
boost::asio::awaitable<answer> call_tool(request_context& ctx, json params);
// resource_methods.cpp
boost::asio::awaitable<answer> get_prompt(request_context& ctx, json params);
boost::asio::awaitable<answer> read_resource(request_context& ctx, json params);
boost::asio::awaitable<answer> subscribe(request_context& ctx, json params);
boost::asio::awaitable<answer> unsubscribe(request_context& ctx, json params);
boost::asio::awaitable<answer> complete(request_context& ctx, json params);
// session_methods.cpp
boost::asio::awaitable<answer> set_log_level(request_context& ctx, json params);
boost::asio::awaitable<answer> task_request(request_context& ctx, json params);
boost::asio::awaitable<answer> list_tasks(request_context& ctx, json params);

}  // namespace manifold::proxy
