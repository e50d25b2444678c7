#include "manifold/namespace/catalog.hpp"

namespace manifold::ns {

const exposed_tool* catalog::find_tool(std::string_view exposed_name) const {
  const auto it = by_name_.find(exposed_name);
  return it == by_name_.end() ? nullptr : &tools_[it->second];
}

std::string exposed_name(std::string_view ns, std::string_view original,
                         const naming_options& naming) {
  std::string out;
  out.reserve(ns.size() + naming.separator.size() + original.size());
  out.append(ns).append(naming.separator).append(original);
  return out;
}

catalog build_catalog(const std::vector<upstream_listing>& upstreams,
                      const naming_options& naming) {
  catalog out;
  std::size_t total = 0;
  for (const auto& u : upstreams) total += u.tools.size();
  out.tools_.reserve(total);
  out.by_name_.reserve(total);

  for (const auto& upstream : upstreams) {
    for (const auto& tool : upstream.tools) {
      const auto name = tool.is_object() ? tool.find("name") : tool.end();
      if (!tool.is_object() || name == tool.end() || !name->is_string() ||
          name->get_ref<const std::string&>().empty()) {
        out.rejected_.push_back({upstream.server, "a tool without a string `name`: " +
                                                      tool.dump().substr(0, 200)});
        continue;
      }
      const auto& original = name->get_ref<const std::string&>();
      auto exposed = exposed_name(upstream.namespace_, original, naming);
      if (const auto existing = out.by_name_.find(exposed); existing != out.by_name_.end()) {
        const auto& kept = out.tools_[existing->second];
        out.collisions_.push_back({std::move(exposed), kept.server, kept.original_name,
                                   upstream.server, original,
                                   "first in config order keeps the name"});
        continue;
      }
      json definition = tool;
      definition["name"] = exposed;
      out.by_name_.emplace(exposed, out.tools_.size());
      out.tools_.push_back({std::move(exposed), upstream.server, original, std::move(definition)});
    }
  }
  return out;
}

}  // namespace manifold::ns
