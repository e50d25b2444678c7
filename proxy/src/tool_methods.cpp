#include <spdlog/spdlog.h>

#include <algorithm>

#include "manifold/namespace/task_ids.hpp"
#include "manifold/namespace/uri_rewrite.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/param_headers.hpp"
#include "manifold/protocol/text.hpp"
#include "manifold/proxy/meta_tools.hpp"
#include "audit_trail.hpp"
#include "methods.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;
using protocol::string_member;

namespace {

// A tool result carrying `structured` as text (and as structuredContent unless an error).
answer tool_text(const json& structured, bool error = false) {
  json out{{"content", json::array({{{"type", "text"}, {"text", structured.dump()}}})}};
  if (error) {
    out["isError"] = true;
  } else {
    out["structuredContent"] = structured;
  }
  return answer::ok(std::move(out));
}

answer refused_call(std::string text) {
  return answer::ok({{"content", json::array({{{"type", "text"}, {"text", std::move(text)}}})},
                     {"isError", true}});
}

void adopt_tasks(request_context& ctx, const std::string& server, json& result) {
  ns::expose_task_ids(server, result);
  if (const auto* task = protocol::object_member(result, "task")) {
    if (const auto id = string_member(*task, "taskId")) {
      ctx.hub.record_task_owner(std::string(*id), ctx.session.id());
    }
  }
}

// The call-time rules, limits and slots of the access gate for `tool` (no gate: admitted).
asio::awaitable<access::call_admission> admit(request_context& ctx, const ns::exposed_entry& tool,
                                              const json& arguments) {
  auto* gate = ctx.hub.options().gate;
  if (gate == nullptr || !ctx.session.identity().roles) {
    access::call_admission open;
    open.admitted.emplace();
    co_return open;
  }
  const auto& who = ctx.session.identity();
  co_return co_await gate->admit(*who.who, *who.roles, tool.name, arguments, tool.server);
}

// tools/call of a tool the view shows; `params` has a string `name`.
asio::awaitable<answer> call_real_tool(request_context& ctx, json params) {
  const auto name = std::string(*string_member(params, "name"));
  const auto* given = protocol::member(params, "arguments");
  if (given != nullptr && !given->is_object() && !given->is_null()) {
    co_return answer::invalid_params("`arguments` must be an object");
  }
  audit_trail audit(ctx, name, given != nullptr ? *given : json());
  const auto resolved = ctx.view->resolve_tool(name);
  const auto* tool = resolved.tool;
  if (tool == nullptr) {
    audit.refused("visibility", access::audit_outcome::refused);
    if (resolved.candidates > 1) {
      co_return answer::invalid_params("Ambiguous tool name `" + name + "`: " +
                                       std::to_string(resolved.candidates) +
                                       " upstreams offer it; call it by the name tools/list shows");
    }
    co_return answer::invalid_params("Unknown tool: " + name);
  }
  audit.target(tool->server, tool->original);
  params["name"] = tool->original;
  auto& arguments = params["arguments"];
  if (!arguments.is_object()) arguments = json::object();
  if (!tool->argument_schema.is_null() || !tool->fixed_arguments.is_null()) {
    const auto checks = ctx.hub.checks_for(ctx.view->source(), *tool);
    if (auto violation = checks->violation(arguments)) {
      spdlog::info("tools/call {} refused: {}", tool->name, protocol::log_safe(*violation));
      audit.refused("arguments", access::audit_outcome::refused);
      co_return refused_call(std::move(*violation));
    }
    checks->add_fixed(arguments);
  }
  auto admission = co_await admit(ctx, *tool, arguments);
  if (!admission.admitted) {
    spdlog::info("tools/call {} by {} refused by {}", tool->name, ctx.session.identity().principal_name(),
                 admission.rule);
    audit.refused(admission.rule, admission.outcome);
    if (admission.error) co_return answer::fail(protocol::rpc_error::from_json(*admission.error));
    co_return refused_call(std::move(admission.refusal_text));
  }
  const bool task = protocol::member(params, "task") != nullptr;
  auto reply = co_await forward(ctx, tool->server, "tools/call", std::move(params));
  admission.admitted->slots.clear();  // the upstream answered: the slots are free
  audit.answered(reply);
  if (!reply.ok()) {
    if (!reply.cancelled) {
      spdlog::warn("tools/call {} -> [{}] failed: {} ({})", tool->name, tool->server,
                   protocol::log_safe(reply.error->message), reply.error->code);
    }
    co_return answer::from(std::move(reply));
  }
  ns::expose_uris(ctx.view->source(), tool->server, "tools/call", reply.result);
  if (task) adopt_tasks(ctx, tool->server, reply.result);
  co_return answer::ok(std::move(reply.result));
}

json search_results(const ns::view& view, const json& args) {
  const auto limit = protocol::integer_member(args, "limit").value_or(10);
  json found = json::array();
  const auto& tools = view.entries(ns::entry_kind::tool);
  for (const auto* t : search_tools(tools, protocol::string_or(args, "query"),
                                    static_cast<std::size_t>(std::clamp<std::int64_t>(limit, 1, 50)))) {
    json item{{"name", t->name}};
    auto description = protocol::string_or(t->definition, "description");
    if (description.size() > 300) description = description.substr(0, 300) + "...";
    item["description"] = std::move(description);
    if (const auto title = string_member(t->definition, "title")) item["title"] = *title;
    found.push_back(std::move(item));
  }
  return {{"tools", std::move(found)}};
}

// search_tools, describe_tool and call_tool, for a session in meta-tool mode.
asio::awaitable<answer> call_meta_tool(request_context& ctx, json params) {
  const auto name = protocol::string_or(params, "name");
  const auto* args_member = protocol::object_member(params, "arguments");
  const json args = args_member != nullptr ? *args_member : json::object();
  if (name == "search_tools") co_return tool_text(search_results(*ctx.view, args));
  const auto target = string_member(args, "name");
  if (!target) co_return tool_text({{"error", "`name` must be a string naming a tool"}}, true);
  const auto* tool = ctx.view->tool(*target);
  if (tool == nullptr) co_return tool_text({{"error", "Unknown tool: " + std::string(*target)}}, true);
  if (name == "describe_tool") co_return tool_text(tool->definition);
  json inner{{"name", *target}};
  if (const auto* a = protocol::member(args, "arguments")) inner["arguments"] = *a;
  if (const auto* meta = protocol::member(params, "_meta")) inner["_meta"] = *meta;
  co_return co_await call_real_tool(ctx, std::move(inner));
}

// -32020 when a 2026-07-28 HTTP request's Mcp-Param-* headers disagree with the arguments,
// for the annotations of the tool's inputSchema as this host sees it (tools/list).
std::optional<protocol::rpc_error> param_header_mismatch(const request_context& ctx, std::string_view name,
                                                         const json& params) {
  const auto* sent = ctx.session.param_headers();
  if (sent == nullptr) return std::nullopt;
  const auto* tool = ctx.view->resolve_tool(name).tool;
  const auto* schema = tool != nullptr ? protocol::object_member(tool->definition, "inputSchema") : nullptr;
  if (schema == nullptr) return std::nullopt;  // unknown tools are answered by call_real_tool
  const auto annotations = protocol::modern::read_param_headers(*schema);
  const auto* arguments = protocol::member(params, "arguments");
  auto mismatch = protocol::modern::check_param_headers(annotations.headers,
                                                        arguments != nullptr ? *arguments : json(), *sent);
  if (mismatch) {
    spdlog::info("tools/call {} refused: {}", tool->name, protocol::log_safe(mismatch->message, 300));
  }
  return mismatch;
}

}  // namespace

asio::awaitable<answer> call_tool(request_context& ctx, json params) {
  const auto name = string_member(params, "name");
  if (!name) co_return answer::invalid_params("tools/call needs a string `name`");
  if (ctx.view->meta_mode() && is_meta_tool(*name)) co_return co_await call_meta_tool(ctx, std::move(params));
  if (auto mismatch = param_header_mismatch(ctx, *name, params)) co_return answer::fail(std::move(*mismatch));
  co_return co_await call_real_tool(ctx, std::move(params));
}

}  // namespace manifold::proxy
