#include "manifold/access/call_gate.hpp"

#include <spdlog/spdlog.h>

#include "manifold/access/identity_token.hpp"

namespace manifold::access {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

constexpr std::chrono::seconds identity_ttl{300};

rate_limit limit_of(const config::rate_limit_config& c) { return rate_limit::from(c); }

json limit_error(std::string message, std::chrono::milliseconds retry_after, std::string_view scope) {
  return {{"code", rate_limited_code},
          {"message", std::move(message)},
          {"data", {{"retryAfterMs", retry_after.count()}, {"scope", scope}}}};
}

}  // namespace

call_gate::call_gate(const config::config& cfg)
    : servers_(cfg.servers), signing_key_(cfg.identity_signing_key),
      concurrency_wait_(cfg.limits.concurrency_wait), policy_(cfg.roles),
      limiter_({limit_of(cfg.limits.global)}), principal_slots_(cfg.limits.concurrency_queue),
      upstream_slots_(cfg.limits.concurrency_queue) {
  if (cfg.audit.enabled()) {
    std::string error;
    audit_ = audit_log::open(audit_log::settings::from(cfg.audit), error);
    if (!audit_) {
      spdlog::error("audit: {}; auditing is off", error);
    } else {
      // Secrets from the config never reach the audit.
      if (!signing_key_.empty()) audit_->add_secret(signing_key_);
      if (!cfg.auth.jwt.hs256_secret.empty()) audit_->add_secret(cfg.auth.jwt.hs256_secret);
      for (const auto& s : cfg.servers) {
        for (const auto& [name, value] : s.headers) audit_->add_secret(value);
        for (const auto& [name, value] : s.env) {
          if (value.size() >= 8) audit_->add_secret(value);
        }
        if (!s.oauth.client_secret.empty()) audit_->add_secret(s.oauth.client_secret);
      }
      spdlog::info("audit: writing to {}{} (chain head {})", cfg.audit.file.empty() ? "" : cfg.audit.file,
                   cfg.audit.to_stderr ? (cfg.audit.file.empty() ? "stderr" : " and stderr") : "",
                   audit_->head());
    }
  }
}

call_gate::~call_gate() = default;

std::shared_ptr<const role_view> call_gate::view_for(const principal& who) const {
  return policy_.view_for(who);
}

const config::server_config* call_gate::server(std::string_view name) const {
  for (const auto& s : servers_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

asio::awaitable<call_admission> call_gate::admit(const principal& who, const role_view& view,
                                                 std::string tool, json arguments, std::string server_name) {
  call_admission out;
  const auto decision = view.check_call(tool, arguments);
  if (!decision.allowed) {
    out.refusal_text = decision.message;
    out.rule = decision.role.empty() ? decision.rule : decision.rule + " (role " + decision.role + ")";
    out.outcome = audit_outcome::refused;
    co_return out;
  }
  const auto rate = limiter_.check(who.name, tool, view.limits());
  if (!rate.allowed) {
    out.error = rate.json_rpc_error();
    out.retry_after = rate.retry_after;
    out.rule = "rate_limit:" + std::string(to_string(rate.scope));
    out.outcome = audit_outcome::rate_limited;
    co_return out;
  }
  admitted_call call;
  const auto deadline = std::chrono::steady_clock::now() + concurrency_wait_;
  auto mine = co_await principal_slots_.acquire(who.name, view.limits().concurrency, deadline);
  if (!mine.ok()) {
    out.error = limit_error("Too many calls in flight for " + who.name + " (" +
                                std::string(to_string(mine.status)) + "); try again shortly",
                            concurrency_wait_, "principal_concurrency");
    out.retry_after = concurrency_wait_;
    out.rule = "concurrency:principal";
    out.outcome = audit_outcome::rate_limited;
    co_return out;
  }
  call.slots.push_back(std::move(mine.slot));
  const auto* s = server(server_name);
  const std::size_t cap = s != nullptr ? s->concurrency : 0;
  auto theirs = co_await upstream_slots_.acquire(server_name, cap, deadline);
  if (!theirs.ok()) {
    out.error = limit_error("Too many calls in flight to " + server_name + " (" +
                                std::string(to_string(theirs.status)) + "); try again shortly",
                            concurrency_wait_, "upstream_concurrency");
    out.retry_after = concurrency_wait_;
    out.rule = "concurrency:upstream";
    out.outcome = audit_outcome::rate_limited;
    co_return out;
  }
  call.slots.push_back(std::move(theirs.slot));
  out.admitted = std::move(call);
  co_return out;
}

void call_gate::audit(const audit_record& record) {
  if (audit_) audit_->write(record);
}

std::optional<call_gate::forwarded_identity> call_gate::identity_for(const principal& who,
                                                                     std::string_view server_name) const {
  const auto* s = server(server_name);
  if (s == nullptr || s->forward_identity == config::forward_identity_mode::none || signing_key_.empty()) {
    return std::nullopt;
  }
  return forwarded_identity{s->forward_identity,
                            sign_identity(who, signing_key_, identity_ttl, std::chrono::system_clock::now(),
                                          server_name)};
}

}  // namespace manifold::access
