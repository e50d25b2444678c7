#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/access/token_bucket.hpp"

namespace manifold::access {

enum class entry_kind { tool, prompt, resource };

// The outcome of a call-time check: allowed, or refused with the rule that refused it and a
// message for the caller (an isError result's text) naming the rule, the argument and the
// constraint it breaks.
struct call_decision {
  bool allowed = false;
  std::string role;     // the role whose rules decided
  std::string rule;     // the refusing rule; "visibility" when no role shows the tool
  std::string message;  // for a refusal
};

// The limits a view's roles grant, the most generous of them: a role without a limit makes
// the principal unlimited on that dimension.
struct rate_plan {
  rate_limit per_principal;
  rate_limit per_tool;
  std::size_t concurrency = 0;  // calls in flight per principal; 0: no cap
};

struct compiled_policy;
struct compiled_role;

// What one set of roles may see and call: a value computed once per role set (and catalog
// generation) by role_policy::view_for, cheap to share between sessions. Visibility is the
// union of the roles: an entry is visible when any role admits it (its allow globs match and
// none of its deny globs). Thread: immutable; check_call uses per-rule schema validators, so
// call it from the io thread only.
class role_view {
 public:
  // Unrestricted: RBAC is off, or an anonymous session without anonymous_roles.
  [[nodiscard]] bool unrestricted() const { return unrestricted_; }
  // The known roles, sorted, joined by ','; "*" when unrestricted. A cache key for views.
  [[nodiscard]] const std::string& key() const { return key_; }
  [[nodiscard]] std::vector<std::string> roles() const;

  // `name` is an exposed tool or prompt name, or an exposed resource URI (or URI template).
  [[nodiscard]] bool admits(entry_kind kind, std::string_view name) const;
  // The group's endpoint may be used ("" is the whole catalog, without a group).
  [[nodiscard]] bool may_use_group(std::string_view group) const;

  // Call-time rules for `tool` (visible or not) with `arguments` (an object, or null). Allowed
  // when some role that shows the tool has every matching rule satisfied.
  [[nodiscard]] call_decision check_call(std::string_view tool, const nlohmann::json& arguments) const;

  [[nodiscard]] const rate_plan& limits() const { return limits_; }

 private:
  friend class role_policy;
  role_view() = default;

  std::shared_ptr<const compiled_policy> policy_;  // keeps the roles below alive
  std::vector<const compiled_role*> roles_;
  std::string key_ = "*";
  bool unrestricted_ = true;
  rate_plan limits_;
};

}  // namespace manifold::access
