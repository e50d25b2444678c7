#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/access/audit_log.hpp"
#include "manifold/access/audit_record.hpp"
#include "manifold/access/concurrency_limiter.hpp"
#include "manifold/access/principal.hpp"
#include "manifold/access/rate_limiter.hpp"
#include "manifold/access/role_policy.hpp"
#include "manifold/config/config.hpp"

namespace manifold::access {

// A call the rules let through, holding its concurrency slots until it is answered.
struct admitted_call {
  std::vector<permit> slots;
};

// What the gate says about one call: admitted (slots held), or refused. A refusal is either
// a tool result with isError (a call-time rule: the model can correct its arguments) or a
// JSON-RPC error (a rate limit or a full concurrency queue: `retry_after` tells when).
struct call_admission {
  std::optional<admitted_call> admitted;
  std::string refusal_text;             // isError text, for a rule
  std::optional<nlohmann::json> error;  // JSON-RPC error object, for a limit
  std::optional<std::chrono::milliseconds> retry_after;
  std::string rule;                     // the rule or limit that refused ("rate_limit:principal")
  audit_outcome outcome = audit_outcome::ok;
};

// The access rules around host requests, built once from a config: the role views, the
// call-time rules, rate limits and concurrency caps checked before a call leaves, the audit
// stream written after, and the identity token forwarded to an upstream. The proxy asks; it
// decides nothing itself. Thread: the io thread.
class call_gate {
 public:
  explicit call_gate(const config::config& cfg);
  call_gate(const call_gate&) = delete;
  call_gate& operator=(const call_gate&) = delete;
  ~call_gate();

  // The roles' view of `who` (what it may see and call).
  [[nodiscard]] std::shared_ptr<const role_view> view_for(const principal& who) const;

  // Before `tool` of upstream `server` is called by `who` with `arguments`: the role's rules,
  // then the rate buckets, then a slot per principal and per upstream (waiting within
  // limits.concurrency_wait in a bounded queue).
  boost::asio::awaitable<call_admission> admit(const principal& who, const role_view& view,
                                               std::string tool, nlohmann::json arguments,
                                               std::string server);

  // Writes one audit line when auditing is on.
  void audit(const audit_record& record);
  [[nodiscard]] bool auditing() const { return audit_ != nullptr; }

  // The signed identity for `server` when it is configured to receive one
  // (servers.<name>.forward_identity), with how it travels; nullopt otherwise.
  struct forwarded_identity {
    config::forward_identity_mode mode;
    std::string token;
  };
  [[nodiscard]] std::optional<forwarded_identity> identity_for(const principal& who,
                                                              std::string_view server) const;

 private:
  [[nodiscard]] const config::server_config* server(std::string_view name) const;

  std::vector<config::server_config> servers_;
  std::string signing_key_;
  std::chrono::milliseconds concurrency_wait_;
  role_policy policy_;
  rate_limiter limiter_;
  concurrency_table principal_slots_;
  concurrency_table upstream_slots_;
  std::unique_ptr<audit_log> audit_;
};

}  // namespace manifold::access
