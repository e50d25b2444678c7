#include "manifold/observe/span.hpp"

#include <chrono>

namespace manifold::observe {

void span::set(std::string_view key, attribute_value value) {
  for (auto& a : attributes) {
    if (a.key == key) {
      a.value = std::move(value);
      return;
    }
  }
  attributes.push_back({std::string(key), std::move(value)});
}

const attribute_value* span::find(std::string_view key) const {
  for (const auto& a : attributes) {
    if (a.key == key) return &a.value;
  }
  return nullptr;
}

std::string span_name(const mcp_request_info& info) {
  std::string out(info.method);
  const auto target = !info.tool.empty() ? info.tool : info.prompt;
  if (!target.empty()) {
    out += ' ';
    out += target;
  }
  return out;
}

std::optional<std::string> request_id_text(const nlohmann::json* id) {
  if (id == nullptr) return std::nullopt;
  if (id->is_string()) return id->get<std::string>();
  if (id->is_number_integer() || id->is_number_unsigned() || id->is_number_float()) return id->dump();
  return std::nullopt;
}

void set_request_attributes(span& s, const mcp_request_info& info) {
  const auto put = [&s](std::string_view key, std::string_view value) {
    if (!value.empty()) s.set(key, std::string(value));
  };
  put("mcp.method.name", info.method);
  put("gen_ai.tool.name", info.tool);
  put("gen_ai.prompt.name", info.prompt);
  put("mcp.resource.uri", info.resource_uri);
  if (info.method == "tools/call") s.set("gen_ai.operation.name", std::string("execute_tool"));
  if (auto id = request_id_text(info.request_id)) s.set("jsonrpc.request.id", std::move(*id));
  put("mcp.session.id", info.session_id);
  put("mcp.protocol.version", info.protocol_version);
  put("network.transport", info.network_transport);
  put("network.protocol.name", info.network_protocol);
  put("network.protocol.version", info.network_protocol_version);
  put("manifold.upstream", info.upstream);
}

void set_jsonrpc_error(span& s, std::int64_t code, std::string_view message) {
  if (!s.sampled()) return;
  const auto text = std::to_string(code);
  s.set("error.type", text);
  s.set("rpc.response.status_code", text);
  s.error = true;
  s.status_message = std::string(message);
}

void set_tool_error(span& s) { set_error(s, "tool_error"); }

void set_error(span& s, std::string_view type, std::string_view message) {
  if (!s.sampled()) return;
  s.set("error.type", std::string(type));
  s.error = true;
  s.status_message = std::string(message);
}

std::uint64_t unix_nanos_now() {
  const auto since = std::chrono::system_clock::now().time_since_epoch();
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(since).count());
}

tracer::tracer(double sample_ratio, span_sink* sink) : sampler_(sample_ratio), sink_(sink) {}

span tracer::start_server(const mcp_request_info& info, const std::optional<span_context>& parent,
                          const std::optional<span_context>& transport) const {
  span s;
  s.kind = span_kind::server;
  s.id = new_span_id();
  if (parent) {
    s.trace = parent->trace;
    s.parent = parent->span;
    s.tracestate = parent->tracestate;
  } else {
    s.trace = new_trace_id();
  }
  const bool sampled = sampler_.sample(s.trace, parent ? &*parent : nullptr);
  s.flags = sampled ? 0x01 : 0x00;
  if (!sampled) return s;
  s.start_unix_nanos = unix_nanos_now();
  s.name = span_name(info);
  set_request_attributes(s, info);
  if (transport && transport->valid() && !(parent && transport->trace == parent->trace &&
                                           transport->span == parent->span)) {
    s.links.push_back({*transport});
  }
  return s;
}

span tracer::start_client(const mcp_request_info& info, const span& parent) const {
  span s;
  s.kind = span_kind::client;
  s.trace = parent.trace;
  s.parent = parent.id;
  s.id = new_span_id();
  s.flags = parent.flags;
  s.tracestate = parent.tracestate;
  if (!s.sampled()) return s;
  s.start_unix_nanos = unix_nanos_now();
  s.name = span_name(info);
  set_request_attributes(s, info);
  return s;
}

void tracer::finish(span&& s) const {
  if (!s.sampled() || sink_ == nullptr) return;
  if (s.end_unix_nanos == 0) s.end_unix_nanos = unix_nanos_now();
  sink_->export_span(std::move(s));
}

}  // namespace manifold::observe
