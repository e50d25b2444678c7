#include "manifold/gateway/pinning.hpp"

#include <array>

#include "manifold/protocol/text.hpp"

namespace manifold::gateway {

namespace {

constexpr std::array<const char*, 3> pinned_fields{"description", "inputSchema", "outputSchema"};

// What is pinned of one tool; object keys are sorted, so the dump is canonical.
json pinned_view(const ns::exposed_entry& tool) {
  json view{{"name", tool.name}};
  for (const auto* field : pinned_fields) view[field] = tool.definition.value(field, json());
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

std::map<std::string, std::string> changed_pins(const ns::catalog& catalog, const json& lock) {
  std::map<std::string, std::string> out;
  const auto tools = lock.value("tools", json::object());
  for (const auto& t : catalog.tools()) {
    const auto pin = tools.find(t.name);
    if (pin == tools.end()) continue;  // not pinned (new since `manifold pin`)
    const auto view = pinned_view(t);
    if (protocol::sha256_hex(view.dump()) == pin->value("sha256", "")) continue;
    std::string fields;
    const auto old = pin->value("pinned", json::object());
    for (const auto* field : pinned_fields) {
      if (old.value(field, json()) != view[field]) fields += std::string(fields.empty() ? "" : ", ") + field;
    }
    out[t.name] = "pinned tool changed (" + (fields.empty() ? std::string("definition") : fields) +
                  ") since `manifold pin`";
  }
  return out;
}

}  // namespace manifold::gateway
