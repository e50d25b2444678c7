#include "manifold/gateway/catalog_report.hpp"

#include <array>
#include <memory>
#include <utility>
#include <vector>

#include "manifold/access/role_policy.hpp"
#include "manifold/namespace/view.hpp"
#include "manifold/protocol/json_access.hpp"

namespace manifold::gateway {

using nlohmann::json;

namespace {

constexpr std::array<ns::entry_kind, 4> kinds{ns::entry_kind::tool, ns::entry_kind::prompt,
                                              ns::entry_kind::resource, ns::entry_kind::resource_template};

access::entry_kind access_kind(ns::entry_kind kind) {
  switch (kind) {
    case ns::entry_kind::tool:
      return access::entry_kind::tool;
    case ns::entry_kind::prompt:
      return access::entry_kind::prompt;
    case ns::entry_kind::resource:
    case ns::entry_kind::resource_template:
      return access::entry_kind::resource;
  }
  return access::entry_kind::tool;
}

// The groups and roles of a config, compiled once per report.
struct story_rules {
  std::vector<std::pair<std::string, std::unique_ptr<ns::name_filter>>> groups;
  std::vector<std::pair<std::string, std::shared_ptr<const access::role_view>>> roles;
  std::unique_ptr<access::role_policy> policy;  // keeps the role views' rules alive

  explicit story_rules(const config::config* cfg) {
    if (cfg == nullptr) return;
    for (const auto& g : cfg->groups) groups.emplace_back(g.name, std::make_unique<ns::name_filter>(g.include, g.exclude));
    if (cfg->roles.empty()) return;
    try {
      policy = std::make_unique<access::role_policy>(cfg->roles);
    } catch (const std::exception&) {
      return;  // the loader refuses such a config first
    }
    for (const auto& r : cfg->roles) roles.emplace_back(r.name, policy->view_for(std::vector<std::string>{r.name}));
  }
};

json entry_json(const ns::exposed_entry& e, ns::entry_kind kind, const story_rules& rules, const json* pins) {
  json out{{"kind", ns::to_string(kind)}, {"name", e.name},           {"server", e.server},
           {"original", e.original},      {"decisions", e.decisions}};
  if (!rules.groups.empty()) {
    json groups = json::array();
    for (const auto& [name, filter] : rules.groups) {
      if (filter->admits(kind, e.name)) groups.push_back(name);
    }
    out["groups"] = std::move(groups);
  }
  if (!rules.roles.empty()) {
    json roles = json::array();
    for (const auto& [name, view] : rules.roles) {
      if (view->admits(access_kind(kind), e.name)) roles.push_back(name);
    }
    out["roles"] = std::move(roles);
  }
  if (pins != nullptr && kind == ns::entry_kind::tool) out["pinned"] = protocol::member(*pins, e.name) != nullptr;
  return out;
}

}  // namespace

json catalog_report(const ns::catalog& c, json upstreams, const story_sources& sources) {
  const story_rules rules(sources.cfg);
  const json* pins = sources.lock != nullptr ? protocol::object_member(*sources.lock, "tools") : nullptr;
  json out{{"entries", json::array()}, {"collisions", json::array()}, {"filtered", json::array()},
           {"rejected", json::array()}, {"upstreams", std::move(upstreams)}};
  for (const auto kind : kinds) {
    for (const auto& e : c.entries(kind)) out["entries"].push_back(entry_json(e, kind, rules, pins));
  }
  for (const auto& col : c.collisions()) {
    out["collisions"].push_back({{"kind", ns::to_string(col.kind)},
                                 {"name", col.exposed_name},
                                 {"kept", {{"server", col.kept_server}, {"original", col.kept_original}}},
                                 {"dropped", {{"server", col.dropped_server}, {"original", col.dropped_original}}},
                                 {"rule", col.rule}});
  }
  for (const auto& f : c.filtered()) {
    out["filtered"].push_back(
        {{"kind", ns::to_string(f.kind)}, {"server", f.server}, {"original", f.original}, {"rule", f.rule}});
  }
  for (const auto& r : c.rejected()) out["rejected"].push_back({{"server", r.server}, {"reason", r.reason}});
  return out;
}

}  // namespace manifold::gateway
