#include "manifold/protocol/extensions.hpp"

namespace manifold::protocol {

using json = nlohmann::json;

bool relayable_extension(std::string_view id) { return id != "io.modelcontextprotocol/tasks"; }

json relayed_capabilities(json capabilities) {
  if (!capabilities.is_object()) return json::object();
  const auto extensions = capabilities.find("extensions");
  if (extensions == capabilities.end()) return capabilities;
  if (!extensions->is_object()) {
    capabilities.erase(extensions);
    return capabilities;
  }
  for (auto it = extensions->begin(); it != extensions->end();) {
    it = relayable_extension(it.key()) ? std::next(it) : extensions->erase(it);
  }
  return capabilities;
}

void merge_extensions(json& merged, const json& upstream) {
  if (!merged.is_object() || !upstream.is_object()) return;
  const auto extensions = upstream.find("extensions");
  if (extensions == upstream.end() || !extensions->is_object()) return;
  for (const auto& [id, settings] : extensions->items()) {
    if (!relayable_extension(id)) continue;
    auto& out = merged["extensions"];
    if (!out.is_object()) out = json::object();
    if (!out.contains(id)) out[id] = settings;
  }
}

}  // namespace manifold::protocol
