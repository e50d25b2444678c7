#include "audit_trail.hpp"

#include "manifold/protocol/json_access.hpp"

namespace manifold::proxy {

audit_trail::audit_trail(request_context& ctx, std::string name, const json& arguments)
    : ctx_(ctx), on_(ctx.hub.options().gate != nullptr && ctx.hub.options().gate->auditing()),
      name_(std::move(name)) {
  if (!on_) return;
  arguments_ = arguments;
}

void audit_trail::refused(const std::string& rule, access::audit_outcome outcome) {
  if (!on_) return;
  access::audit_record r;
  r.allowed = false;
  r.rule = rule;
  r.outcome = outcome;
  write(std::move(r));
}

void audit_trail::answered(const protocol::rpc_reply& reply) {
  if (!on_) return;
  access::audit_record r;
  json result;
  if (reply.cancelled) {
    r.outcome = access::audit_outcome::cancelled;
  } else if (!reply.ok()) {
    r.outcome = reply.error->code == protocol::error_code::request_timeout ? access::audit_outcome::timeout
                                                                           : access::audit_outcome::error;
    r.error_code = reply.error->code;
  } else {
    r.outcome = protocol::bool_member(reply.result, "isError").value_or(false) ? access::audit_outcome::is_error
                                                                              : access::audit_outcome::ok;
    result = reply.result;  // measured later, off the latency path
  }
  write(std::move(r), std::move(result));
}

void audit_trail::write(access::audit_record r, json result) {
  const auto& who = *ctx_.session.identity().who;
  r.principal = who.name;
  r.roles = who.roles;
  r.auth = who.method;
  r.session = std::to_string(ctx_.session.id());
  r.method = ctx_.method;
  r.name = name_;
  r.upstream = upstream_;
  r.original = original_;
  r.latency_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started_).count();
  r.arguments = std::move(arguments_);
  ctx_.hub.audit_later(std::move(r), std::move(result));
}

}  // namespace manifold::proxy
