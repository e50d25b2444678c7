#include "manifold/namespace/uri_rewrite.hpp"
#include "manifold/protocol/json_access.hpp"
#include "audit_trail.hpp"
#include "methods.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;
using protocol::string_member;

namespace {

// The upstream and its URI behind a URI from the host (view::resolve_uri), if that upstream
// serves resources; otherwise the error to answer (-32602 for an ambiguous original URI,
// -32002 for anything unknown or hidden).
struct resource_target {
  std::optional<ns::uri_target> target;
  std::optional<protocol::rpc_error> error;
};

resource_target target_of(const request_context& ctx, std::string_view uri) {
  auto resolved = ctx.view->resolve_uri(uri);
  if (resolved.candidates > 1) {
    return {std::nullopt, protocol::rpc_error{protocol::error_code::invalid_params,
                                              "Ambiguous resource URI `" + std::string(uri) + "`: " +
                                                  std::to_string(resolved.candidates) +
                                                  " upstreams serve it; use the URI resources/list shows",
                                              std::nullopt}};
  }
  const auto servers = ctx.hub.upstreams().upstreams_with("/resources");
  if (!resolved.target ||
      std::find(servers.begin(), servers.end(), resolved.target->server) == servers.end()) {
    return {std::nullopt, protocol::rpc_error{protocol::error_code::resource_not_found, "Resource not found",
                                              json{{"uri", uri}}}};
  }
  return {std::move(resolved.target), std::nullopt};
}

}  // namespace

asio::awaitable<answer> get_prompt(request_context& ctx, json params) {
  const auto name = string_member(params, "name");
  if (!name) co_return answer::invalid_params("prompts/get needs a string `name`");
  const auto* arguments = protocol::member(params, "arguments");
  audit_trail audit(ctx, std::string(*name), arguments != nullptr ? *arguments : json());
  const auto* prompt = ctx.view->prompt(*name);
  if (prompt == nullptr) {
    audit.refused("visibility", access::audit_outcome::refused);
    co_return answer::invalid_params("Unknown prompt: " + std::string(*name));
  }
  audit.target(prompt->server, prompt->original);
  params["name"] = prompt->original;
  auto reply = co_await forward(ctx, prompt->server, "prompts/get", std::move(params));
  audit.answered(reply);
  if (reply.ok()) ns::expose_uris(ctx.view->source(), prompt->server, "prompts/get", reply.result);
  co_return answer::from(std::move(reply));
}

asio::awaitable<answer> read_resource(request_context& ctx, json params) {
  const auto uri = string_member(params, "uri");
  if (!uri) co_return answer::invalid_params("resources/read needs a string `uri`");
  audit_trail audit(ctx, std::string(*uri), json());
  auto found = target_of(ctx, *uri);
  if (!found.target) {
    audit.refused("visibility", access::audit_outcome::refused);
    co_return answer::fail(std::move(*found.error));
  }
  const auto target = std::move(found.target);
  audit.target(target->server, target->uri);
  params["uri"] = target->uri;
  auto reply = co_await forward(ctx, target->server, "resources/read", std::move(params));
  audit.answered(reply);
  if (reply.ok()) ns::expose_uris(ctx.view->source(), target->server, "resources/read", reply.result);
  co_return answer::from(std::move(reply));
}

asio::awaitable<answer> subscribe(request_context& ctx, json params) {
  const auto uri = string_member(params, "uri");
  if (!uri) co_return answer::invalid_params("resources/subscribe needs a string `uri`");
  auto found = target_of(ctx, *uri);
  if (!found.target) co_return answer::fail(std::move(*found.error));
  const auto target = std::move(found.target);
  auto principal = ctx.session.identity().principal_name();
  auto reply =
      co_await ctx.hub.subscribe(ctx.session.id(), std::move(principal), *target, ctx.session.client_capabilities());
  if (reply.ok()) ctx.session.note_subscription(std::string(*uri), true);
  co_return answer::from(std::move(reply));
}

asio::awaitable<answer> unsubscribe(request_context& ctx, json params) {
  const auto uri = string_member(params, "uri");
  if (!uri) co_return answer::invalid_params("resources/unsubscribe needs a string `uri`");
  auto found = target_of(ctx, *uri);
  if (!found.target) co_return answer::fail(std::move(*found.error));
  const auto target = std::move(found.target);
  auto principal = ctx.session.identity().principal_name();
  auto reply =
      co_await ctx.hub.unsubscribe(ctx.session.id(), std::move(principal), *target, ctx.session.client_capabilities());
  if (reply.ok()) ctx.session.note_subscription(std::string(*uri), false);
  co_return answer::from(std::move(reply));
}

asio::awaitable<answer> complete(request_context& ctx, json params) {
  auto* ref = protocol::member(params, "ref");
  if (ref == nullptr || !ref->is_object()) {
    co_return answer::invalid_params("completion/complete needs a `ref` object");
  }
  const auto type = protocol::string_or(*ref, "type");
  std::string server;
  if (type == "ref/prompt") {
    const auto name = string_member(*ref, "name");
    if (!name) co_return answer::invalid_params("a ref/prompt needs a string `name`");
    const auto* prompt = ctx.view->prompt(*name);
    if (prompt == nullptr) co_return answer::invalid_params("Unknown prompt: " + std::string(*name));
    (*ref)["name"] = prompt->original;
    server = prompt->server;
  } else if (type == "ref/resource") {
    const auto uri = string_member(*ref, "uri");
    if (!uri) co_return answer::invalid_params("a ref/resource needs a string `uri`");
    const auto target = target_of(ctx, *uri).target;
    if (!target) co_return answer::invalid_params("Unknown resource template: " + std::string(*uri));
    (*ref)["uri"] = target->uri;
    server = target->server;
  } else {
    co_return answer::invalid_params("unknown completion ref type `" + type + "`");
  }
  co_return answer::from(co_await forward(ctx, server, "completion/complete", std::move(params)));
}

}  // namespace manifold::proxy
