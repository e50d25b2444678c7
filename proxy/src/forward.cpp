#include "manifold/protocol/json_access.hpp"
#include "methods.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;
using protocol::rpc_reply;

asio::awaitable<rpc_reply> forward(request_context& ctx, const std::string& server,
                                   std::string method, json params) {
  if (ctx.control && ctx.control->cancelled) {
    auto out = rpc_reply::failure(protocol::error_code::request_timeout, method + " was cancelled");
    out.cancelled = true;
    co_return out;
  }
  const auto session = ctx.session.id();
  auto* peer = ctx.hub.upstreams().peer(server, session, ctx.session.client_capabilities());
  if (peer == nullptr) {
    co_return rpc_reply::failure(protocol::error_code::internal_error, "no upstream named " + server);
  }
  json minted;
  if (auto* meta = protocol::member(params, "_meta"); meta != nullptr && meta->is_object()) {
    if (auto* token = protocol::member(*meta, "progressToken")) {
      minted = ctx.hub.bind_progress(session, *token, ctx.id);
      *token = minted;
    }
  }
  const auto ticket = ctx.hub.begin_call(server, session, ctx.id);
  protocol::call_options options{{}, ctx.control};
  auto reply = co_await peer->call(std::move(method), std::move(params), std::move(options));
  ctx.hub.end_call(server, ticket);
  if (!minted.is_null()) ctx.hub.release_progress(minted);
  co_return reply;
}

}  // namespace manifold::proxy
