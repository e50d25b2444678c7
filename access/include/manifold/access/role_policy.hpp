#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/access/principal.hpp"
#include "manifold/access/role_view.hpp"
#include "manifold/config/config.hpp"

namespace manifold::access {

// Why a principal with some roles can or cannot see and call one entry, in lines a person
// reads (`manifold explain`), plus the decision itself.
struct explanation {
  bool visible = false;
  std::optional<call_decision> call;  // tools only
  std::string decided_by;             // "role dev, allow k8s__*", "rule dev-namespaces of role dev"
  std::vector<std::string> lines;
  [[nodiscard]] std::string text() const;
};

// `roles:` compiled once. Without roles RBAC is off and every view is unrestricted.
// Thread: immutable after construction; views may be shared.
class role_policy {
 public:
  role_policy();
  // Throws std::invalid_argument when a rule's constraint cannot be compiled (the config
  // loader refuses such a config first).
  explicit role_policy(const std::vector<config::role_config>& roles);

  [[nodiscard]] bool enabled() const;

  // The view of a set of role names (order and duplicates do not matter; names that are not
  // configured grant nothing). Cheap to keep per session; equal keys mean equal views.
  [[nodiscard]] std::shared_ptr<const role_view> view_for(const std::vector<std::string>& roles) const;
  // The view of a principal: unrestricted when RBAC is off, or for an anonymous principal
  // without roles (no auth and no anonymous_roles: everything visible, as before roles).
  [[nodiscard]] std::shared_ptr<const role_view> view_for(const principal& who) const;

  // The cache key of a role set: its known role names, sorted, joined by ','.
  [[nodiscard]] std::string role_set_key(const std::vector<std::string>& roles) const;

  // Which role or rule decides whether `roles` may see `name` and, for a tool, call it
  // (with `arguments` when given; otherwise the rules that would apply are listed).
  [[nodiscard]] explanation explain(const std::vector<std::string>& roles, entry_kind kind, std::string_view name,
                                    const nlohmann::json* arguments = nullptr) const;

 private:
  std::shared_ptr<const compiled_policy> policy_;
};

}  // namespace manifold::access
