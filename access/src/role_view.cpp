#include "manifold/access/role_view.hpp"

#include <algorithm>

#include "compiled_role.hpp"

namespace manifold::access {

std::vector<std::string> role_view::roles() const {
  std::vector<std::string> out;
  out.reserve(roles_.size());
  for (const auto* role : roles_) out.push_back(role->name);
  return out;
}

bool role_view::admits(entry_kind kind, std::string_view name) const {
  if (unrestricted_) return true;
  return std::any_of(roles_.begin(), roles_.end(),
                     [&](const compiled_role* role) { return role->filter(kind).admit(name).admitted; });
}

bool role_view::may_use_group(std::string_view group) const {
  if (unrestricted_) return true;
  return std::any_of(roles_.begin(), roles_.end(), [&](const compiled_role* role) {
    return role->groups.empty() || std::find(role->groups.begin(), role->groups.end(), group) != role->groups.end();
  });
}

call_decision role_view::check_call(std::string_view tool, const nlohmann::json& arguments) const {
  if (unrestricted_) return {true, "", "", ""};
  std::optional<call_decision> first_refusal;
  for (const auto* role : roles_) {
    if (!role->tools.admit(tool).admitted) continue;
    auto refused = role->refusal(tool, arguments);
    if (!refused) return {true, role->name, "", ""};
    if (!first_refusal) {
      first_refusal = call_decision{false, role->name, refused->first->name,
                                    "Refused by rule `" + refused->first->name + "` of role `" + role->name +
                                        "`: " + refused->second};
    }
  }
  if (first_refusal) return *first_refusal;
  return {false, "", "visibility", "Tool " + std::string(tool) + " is not available to this principal"};
}

}  // namespace manifold::access
