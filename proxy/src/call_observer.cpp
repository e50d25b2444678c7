#include "call_observer.hpp"

#include <chrono>

#include "manifold/observe/trace.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/json_access.hpp"

namespace manifold::proxy {

using protocol::json;
using clock = std::chrono::steady_clock;

namespace {

// The conventions' attributes of a request, from its (untrusted) params.
observe::mcp_request_info info_of(std::string_view method, const json& params) {
  observe::mcp_request_info info;
  info.method = method;
  if (method == "tools/call") {
    info.tool = protocol::string_member(params, "name").value_or("");
  } else if (method == "prompts/get") {
    info.prompt = protocol::string_member(params, "name").value_or("");
  } else if (method.substr(0, 10) == "resources/") {
    info.resource_uri = protocol::string_member(params, "uri").value_or("");
  }
  return info;
}

bool is_error_result(const json* result) {
  return result != nullptr && protocol::bool_member(*result, "isError").value_or(false);
}

// The error's JSON-RPC code, or tool_error / cancelled, onto a finished span.
void end_span(observe::span& s, const protocol::rpc_error* error, const json* result, bool cancelled) {
  if (cancelled) {
    observe::set_error(s, "cancelled", "cancelled");
  } else if (error != nullptr) {
    if (error->code == protocol::error_code::request_timeout) {
      observe::set_error(s, "timeout", error->message);
      s.set("rpc.response.status_code", std::to_string(error->code));
    } else {
      observe::set_jsonrpc_error(s, error->code, error->message);
    }
  } else if (is_error_result(result)) {
    observe::set_tool_error(s);
  }
}

}  // namespace

call_observer::call_observer(const observe::telemetry* t, const protocol::message& request,
                             const request_origin& origin)
    : t_(t != nullptr && (t->metrics != nullptr || t->tracer != nullptr || t->calls != nullptr) ? t : nullptr) {
  if (t_ == nullptr) return;
  method_ = std::string(request.method());
  static const json no_params = json::object();
  const auto* given = protocol::object_member(request.body, "params");
  const json& params = given != nullptr ? *given : no_params;
  const auto info = info_of(method_, params);
  tool_ = std::string(!info.tool.empty() ? info.tool : info.prompt);
  uri_ = std::string(info.resource_uri);
  if (t_->tracer == nullptr) return;
  session_ = std::string(origin.session);
  protocol_version_ = std::string(origin.protocol_version);
  network_transport_ = origin.link.network_transport;
  auto attributes = info;
  const auto* id = protocol::member(request.body, "id");
  attributes.request_id = id;
  attributes.session_id = session_;
  attributes.protocol_version = protocol_version_;
  attributes.network_transport = network_transport_;
  if (network_transport_ == "tcp" && !origin.link.session_id.empty()) attributes.network_protocol = "http";
  span_ = t_->tracer->start_server(attributes, observe::context_from_meta(params));
}

void call_observer::target(std::string_view upstream) {
  if (t_ != nullptr && upstream_.empty()) upstream_ = std::string(upstream);
}

void call_observer::refused(access::audit_outcome outcome) {
  if (outcome == access::audit_outcome::rate_limited) {
    refusal_ = observe::call_outcome::rate_limited;
  } else if (outcome == access::audit_outcome::refused) {
    refusal_ = observe::call_outcome::refused_by_policy;
  }
}

std::string call_observer::trace_id() const {
  return span_ && span_->sampled() ? span_->trace.hex() : std::string();
}

call_observer::upstream_call call_observer::upstream_started(const std::string& upstream, std::string_view method,
                                                            json& params) {
  upstream_call call;
  if (t_ == nullptr) return call;
  target(upstream);
  call.started = clock::now();
  call.upstream = upstream;
  if (t_->metrics != nullptr) {
    call.series = &t_->metrics->upstream(upstream);
    call.series->call_started();
  }
  if (span_) {
    auto info = info_of(method, params);
    info.upstream = upstream;
    info.network_transport = "";
    call.span = t_->tracer->start_client(info, *span_);
    // The trace continues into the upstream: it sees the CLIENT span as its parent.
    observe::inject_meta(params, call.span->context());
  }
  return call;
}

void call_observer::upstream_finished(upstream_call& call, std::string_view method, const protocol::rpc_reply& reply) {
  if (t_ == nullptr) return;
  const auto* error = reply.ok() ? nullptr : &*reply.error;
  const auto* result = reply.ok() ? &reply.result : nullptr;
  if (t_->metrics != nullptr) {
    if (call.series != nullptr) call.series->call_finished();
    t_->metrics->record_client_call(method, tool_, call.upstream, outcome_of(error, result, reply.cancelled),
                                    clock::now() - call.started);
  }
  if (call.span) {
    end_span(*call.span, error, result, reply.cancelled);
    t_->tracer->finish(std::move(*call.span));
    call.span.reset();
  }
}

observe::call_outcome call_observer::outcome_of(const protocol::rpc_error* error, const json* result,
                                                bool cancelled) const {
  if (cancelled) return observe::call_outcome::cancelled;
  if (error != nullptr) {
    if (refusal_) return *refusal_;
    return error->code == protocol::error_code::request_timeout ? observe::call_outcome::timeout
                                                                 : observe::call_outcome::jsonrpc_error;
  }
  if (is_error_result(result)) return refusal_.value_or(observe::call_outcome::is_error);
  return observe::call_outcome::ok;
}

void call_observer::finished(const protocol::rpc_error* error, const json* result, bool cancelled,
                             std::string_view principal) {
  if (t_ == nullptr) return;
  const auto elapsed = clock::now() - started_;
  const auto outcome = outcome_of(error, result, cancelled);
  if (t_->metrics != nullptr) t_->metrics->record_server_call(method_, tool_, upstream_, outcome, elapsed);
  std::string trace;
  if (span_) {
    trace = trace_id();
    if (!upstream_.empty()) span_->set("manifold.upstream", upstream_);
    end_span(*span_, error, result, cancelled);
    t_->tracer->finish(std::move(*span_));
    span_.reset();
  }
  if ((t_->calls == nullptr && t_->feed == nullptr) || (tool_.empty() && uri_.empty())) return;
  observe::call_record call;
  call.time_unix_ms = observe::unix_nanos_now() / 1'000'000;
  call.principal = std::string(principal);
  call.method = method_;
  call.tool = tool_.empty() ? uri_ : tool_;
  call.upstream = upstream_;
  call.latency_ms = std::chrono::duration<double, std::milli>(elapsed).count();
  call.outcome = outcome;
  if (error != nullptr) {
    call.error = error->message;
  } else if (is_error_result(result)) {
    const auto* content = protocol::array_member(*result, "content");
    if (content != nullptr && !content->empty()) call.error = protocol::string_or((*content)[0], "text", "isError");
  }
  call.trace_id = std::move(trace);
  t_->call_finished(std::move(call));
}

}  // namespace manifold::proxy
