#include "manifold/access/role_policy.hpp"

#include <algorithm>

#include "compiled_role.hpp"

namespace manifold::access {

namespace {

// The most generous of two limits: an unlimited one wins; otherwise the higher rate and burst.
rate_limit most_generous(const rate_limit& a, const rate_limit& b) {
  if (!a.limited() || !b.limited()) return {};
  return {std::max(a.per_second, b.per_second), std::max(a.burst, b.burst)};
}

rate_plan plan_of(const std::vector<const compiled_role*>& roles) {
  rate_plan out;
  bool first = true;
  for (const auto* role : roles) {
    const rate_plan mine{rate_limit::from(role->limits.rate), rate_limit::from(role->limits.per_tool),
                         role->limits.concurrency};
    if (first) {
      out = mine;
      first = false;
      continue;
    }
    out.per_principal = most_generous(out.per_principal, mine.per_principal);
    out.per_tool = most_generous(out.per_tool, mine.per_tool);
    out.concurrency = out.concurrency == 0 || mine.concurrency == 0 ? 0 : std::max(out.concurrency, mine.concurrency);
  }
  return out;
}

std::string kind_name(entry_kind kind) {
  return kind == entry_kind::tool ? "tool" : kind == entry_kind::prompt ? "prompt" : "resource";
}

}  // namespace

std::string explanation::text() const {
  std::string out;
  for (const auto& line : lines) out += line + "\n";
  return out;
}

role_policy::role_policy() : policy_(std::make_shared<compiled_policy>()) {}

role_policy::role_policy(const std::vector<config::role_config>& roles) : policy_(compile_policy(roles)) {}

bool role_policy::enabled() const { return !policy_->roles.empty(); }

std::string role_policy::role_set_key(const std::vector<std::string>& roles) const {
  std::vector<std::string> known;
  for (const auto& name : roles) {
    if (policy_->find(name) != nullptr) known.push_back(name);
  }
  std::sort(known.begin(), known.end());
  known.erase(std::unique(known.begin(), known.end()), known.end());
  std::string key;
  for (const auto& name : known) key += (key.empty() ? "" : ",") + name;
  return key;
}

std::shared_ptr<const role_view> role_policy::view_for(const std::vector<std::string>& roles) const {
  std::shared_ptr<role_view> view(new role_view());  // private constructor
  if (!enabled()) return view;
  view->unrestricted_ = false;
  view->policy_ = policy_;
  for (const auto& role : policy_->roles) {  // sorted: the key and the evaluation order follow
    if (std::find(roles.begin(), roles.end(), role.name) != roles.end()) view->roles_.push_back(&role);
  }
  view->key_ = role_set_key(roles);
  view->limits_ = plan_of(view->roles_);
  return view;
}

std::shared_ptr<const role_view> role_policy::view_for(const principal& who) const {
  if (who.method == auth_method::anonymous && who.roles.empty()) {
    return std::shared_ptr<const role_view>(new role_view());  // unrestricted
  }
  return view_for(who.roles);
}

explanation role_policy::explain(const std::vector<std::string>& roles, entry_kind kind, std::string_view name,
                                 const nlohmann::json* arguments) const {
  explanation out;
  const auto what = kind_name(kind) + " " + std::string(name);
  if (!enabled()) {
    out.visible = true;
    out.decided_by = "no roles configured";
    out.lines.push_back(what + ": visible (no roles are configured, so roles restrict nothing)");
    if (kind == entry_kind::tool) out.call = call_decision{true, "", "", ""};
    return out;
  }
  for (const auto& role_name : roles) {
    if (policy_->find(role_name) == nullptr) out.lines.push_back("role " + role_name + ": not configured, grants nothing");
  }
  const auto view = view_for(roles);
  for (const auto* role : view->roles_) {
    const auto admission = role->filter(kind).admit(name);
    if (admission.admitted) {
      out.lines.push_back("role " + role->name + ": shows " + what + " (allow " + admission.pattern + ")");
      if (!out.visible) out.decided_by = "role " + role->name + ", allow " + admission.pattern;
      out.visible = true;
    } else {
      out.lines.push_back("role " + role->name + ": hides " + what +
                          (admission.pattern.empty() ? " (no allow glob matches)" : " (deny " + admission.pattern + ")"));
    }
  }
  if (!out.visible) {
    out.decided_by = roles.empty() ? "no roles" : "no role shows it";
    out.lines.push_back(what + ": hidden (" + out.decided_by + ")");
    if (kind == entry_kind::tool) out.call = call_decision{false, "", "visibility", what + " is hidden"};
    return out;
  }
  if (kind != entry_kind::tool) return out;
  for (const auto* role : view->roles_) {
    if (!role->tools.admit(name).admitted) continue;
    for (const auto& rule : role->rules) {
      if (rule.applies_to(name)) {
        out.lines.push_back("role " + role->name + ", rule " + rule.name + (rule.deny ? " (deny)" : "") + ": " +
                            rule.summary());
      }
    }
  }
  if (arguments != nullptr) {
    out.call = view->check_call(name, *arguments);
    if (out.call->allowed) {
      out.decided_by = "role " + out.call->role;
      out.lines.push_back("call with " + arguments->dump() + ": allowed by role " + out.call->role);
    } else {
      out.decided_by = "rule " + out.call->rule + " of role " + out.call->role;
      out.lines.push_back("call with " + arguments->dump() + ": " + out.call->message);
    }
  }
  return out;
}

}  // namespace manifold::access
