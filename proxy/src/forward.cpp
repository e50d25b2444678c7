#include "manifold/access/identity_token.hpp"
#include "manifold/protocol/json_access.hpp"
#include "call_observer.hpp"
#include "methods.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;
using protocol::rpc_reply;

namespace {

// The host of one forwarded call, for an upstream that asks it for input: the question goes
// to the session that made the call, related to the host's own request, and to no other.
class host_input final : public protocol::input_source {
 public:
  host_input(request_context& ctx) : ctx_(ctx) {}
  asio::awaitable<rpc_reply> ask(std::string method, json params, std::string key,
                                 std::shared_ptr<protocol::call_control> control) override {
    return ctx_.hub.ask_host(ctx_.session.id(), std::move(method), std::move(params), std::move(key), ctx_.id,
                             std::move(control));
  }
  [[nodiscard]] const json& capabilities() const override { return ctx_.session.client_capabilities(); }

 private:
  request_context& ctx_;
};

}  // namespace

asio::awaitable<rpc_reply> forward(request_context& ctx, const std::string& server,
                                   std::string method, json params) {
  if (ctx.control && ctx.control->cancelled) {
    auto out = rpc_reply::failure(protocol::error_code::request_timeout, method + " was cancelled");
    out.cancelled = true;
    co_return out;
  }
  const auto session = ctx.session.id();
  auto* peer = ctx.hub.upstreams().peer(server, session, ctx.session.client_capabilities(),
                                        ctx.session.identity().principal_name());
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
  if (auto* gate = ctx.hub.options().gate) {
    // The caller's identity as signed claims, never the host's own token; an HTTP upstream
    // configured for a header gets it moved there by its transport.
    if (auto identity = gate->identity_for(*ctx.session.identity().who, server)) {
      if (!params.is_object()) params = json::object();
      params["_meta"][std::string(access::identity_meta_key)] = std::move(identity->token);
    }
  }
  const auto ticket = ctx.hub.begin_call(server, session, ctx.id);
  host_input input(ctx);
  protocol::call_options options;
  options.control = ctx.control;
  options.input = &input;
  const auto* telemetry = ctx.hub.options().telemetry;
  // The tap attributes the upstream side of the call to this session.
  if (telemetry != nullptr && telemetry->tap != nullptr && telemetry->tap->active()) options.tag = std::make_shared<const std::string>(ctx.session.label());
  std::optional<call_observer::upstream_call> watched;
  std::string watched_method;
  if (ctx.observer != nullptr && ctx.observer->on()) {
    watched = ctx.observer->upstream_started(server, method, params);
    watched_method = method;
  }
  auto reply = co_await peer->call(std::move(method), std::move(params), std::move(options));
  if (watched) ctx.observer->upstream_finished(*watched, watched_method, reply);
  ctx.hub.end_call(server, ticket);
  if (!minted.is_null()) ctx.hub.release_progress(minted);
  co_return reply;
}

}  // namespace manifold::proxy
