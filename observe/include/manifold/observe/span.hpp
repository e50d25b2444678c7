#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "manifold/observe/trace.hpp"

// Spans as values, named and attributed per the OpenTelemetry MCP semantic conventions:
// a SERVER span per host request, a CLIENT span per upstream request, both named
// "{mcp.method.name} {target}" (target: the tool or prompt name) or "{mcp.method.name}".
namespace manifold::observe {

enum class span_kind : std::uint8_t { internal = 1, server = 2, client = 3 };  // OTLP values

using attribute_value = std::variant<std::string, std::int64_t, bool, double>;

struct attribute {
  std::string key{};
  attribute_value value{};
};

// Another context this span relates to (the HTTP request's own traceparent when `_meta`
// carried a different one).
struct span_link {
  span_context context{};
};

struct span {
  trace_id trace{};
  span_id id{};
  span_id parent{};  // all zero: a root span
  std::uint8_t flags = 0;
  std::string tracestate{};
  std::string name{};
  span_kind kind = span_kind::internal;
  std::uint64_t start_unix_nanos = 0;
  std::uint64_t end_unix_nanos = 0;
  std::vector<attribute> attributes{};
  std::vector<span_link> links{};
  bool error = false;
  std::string status_message{};

  [[nodiscard]] bool sampled() const { return (flags & 0x01U) != 0; }
  // What a request this span makes carries (traceparent with this span as the parent).
  [[nodiscard]] span_context context() const { return {trace, id, flags, tracestate}; }
  // Sets `key`, replacing an earlier value.
  void set(std::string_view key, attribute_value value);
  [[nodiscard]] const attribute_value* find(std::string_view key) const;
};

// What the conventions attribute a request with; empty fields are left out.
struct mcp_request_info {
  std::string_view method{};             // mcp.method.name
  std::string_view tool{};               // gen_ai.tool.name (tools/call)
  std::string_view prompt{};             // gen_ai.prompt.name (prompts/get)
  std::string_view resource_uri{};       // mcp.resource.uri (resources/*)
  const nlohmann::json* request_id = nullptr;  // jsonrpc.request.id; null/absent: notification
  std::string_view session_id{};         // mcp.session.id
  std::string_view protocol_version{};   // mcp.protocol.version
  std::string_view network_transport{};  // network.transport: "pipe" (stdio) | "tcp"
  std::string_view network_protocol{};   // network.protocol.name: "http" | "websocket"
  std::string_view network_protocol_version{};  // network.protocol.version: "1.1"
  std::string_view upstream{};           // manifold.upstream
};

// "{method} {tool or prompt}", or "{method}".
std::string span_name(const mcp_request_info& info);
// Adds the conventions' attributes of `info` to `s`, and gen_ai.operation.name execute_tool
// for tools/call.
void set_request_attributes(span& s, const mcp_request_info& info);
// The request id as the conventions want it: a string id as is, a number in decimal;
// nullopt for null, absent or another type.
std::optional<std::string> request_id_text(const nlohmann::json* id);

// Endings (span status ERROR, error.type, the message as status description; nothing on an
// unsampled span):
// a JSON-RPC error: error.type and rpc.response.status_code are the code in decimal;
void set_jsonrpc_error(span& s, std::int64_t code, std::string_view message);
// a tools/call result with isError: error.type tool_error;
void set_tool_error(span& s);
// anything else manifold decides (timeout, cancelled, refused_by_policy, rate_limited).
void set_error(span& s, std::string_view type, std::string_view message = {});

std::uint64_t unix_nanos_now();

// Where finished, sampled spans go (the OTLP exporter). Thread: the io thread.
class span_sink {
 public:
  virtual ~span_sink() = default;
  virtual void export_span(span&& s) = 0;
};

// Starts and finishes the spans of calls. An unsampled span still gets ids (the trace
// continues to the upstream with the sampled flag off) but no name or attributes.
// Thread: the io thread.
class tracer {
 public:
  // `sink` may be null: contexts still propagate, nothing is exported.
  explicit tracer(double sample_ratio = 1.0, span_sink* sink = nullptr);

  // A SERVER span for a host request whose context is `parent` (extract_context), or a new
  // trace. `transport` is the HTTP request's own context when it differs from `parent`
  // (recorded as a link).
  span start_server(const mcp_request_info& info, const std::optional<span_context>& parent,
                    const std::optional<span_context>& transport = std::nullopt) const;
  // A CLIENT span for the upstream request `parent` (the server span) makes.
  span start_client(const mcp_request_info& info, const span& parent) const;
  // Stamps the end time when unset and hands a sampled span to the sink.
  void finish(span&& s) const;

  [[nodiscard]] const observe::sampler& sampling() const { return sampler_; }
  void set_sink(span_sink* sink) { sink_ = sink; }

 private:
  observe::sampler sampler_;
  span_sink* sink_;
};

}  // namespace manifold::observe
