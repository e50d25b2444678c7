#include "manifold/gateway/pinning.hpp"

#include <array>

#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/text.hpp"

namespace manifold::gateway {

namespace {

constexpr std::array<const char*, 3> pinned_fields{"description", "inputSchema", "outputSchema"};

// What is pinned of one tool; object keys are sorted, so the dump is canonical.
json pinned_view(const ns::exposed_entry& tool) {
  json view{{"name", tool.name}};
  for (const auto* field : pinned_fields) {
    const auto* value = protocol::member(tool.definition, field);
    view[field] = value != nullptr ? *value : json();
  }
  return view;
}

}  // namespace

json make_lock(const ns::catalog& catalog) {
  json tools = json::object();
  for (const auto& t : catalog.tools()) {
    auto view = pinned_view(t);
    tools[t.name] = {{"sha256", protocol::sha256_hex(view.dump())},
                     {"server", t.server},
                     {"original", t.original},
                     {"pinned", std::move(view)}};
  }
  return {{"version", 1}, {"tools", std::move(tools)}};
}

// The lock file is read like any outside input: a malformed entry pins nothing (and the
// difference is then reported as a changed definition), it never throws.
std::map<std::string, std::string> changed_pins(const ns::catalog& catalog, const json& lock) {
  std::map<std::string, std::string> out;
  const auto* tools = protocol::object_member(lock, "tools");
  if (tools == nullptr) return out;
  for (const auto& t : catalog.tools()) {
    const auto* pin = protocol::member(*tools, t.name);
    if (pin == nullptr) continue;  // not pinned (new since `manifold pin`)
    const auto view = pinned_view(t);
    if (protocol::sha256_hex(view.dump()) == protocol::string_or(*pin, "sha256")) continue;
    std::string fields;
    const auto* old = protocol::object_member(*pin, "pinned");
    for (const auto* field : pinned_fields) {
      const auto* before = old != nullptr ? protocol::member(*old, field) : nullptr;
      if (before == nullptr || *before != view[field]) fields += std::string(fields.empty() ? "" : ", ") + field;
    }
    out[t.name] = "pinned tool changed (" + (fields.empty() ? std::string("definition") : fields) +
                  ") since `manifold pin`";
  }
  return out;
}

}  // namespace manifold::gateway
