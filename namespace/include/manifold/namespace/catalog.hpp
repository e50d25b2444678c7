#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

// The merged, namespaced catalog: a value built by a pure function from what each upstream
// listed and the naming rules. Immutable once built; shared as shared_ptr<const catalog>.
namespace manifold::ns {

using json = nlohmann::json;

// What one upstream offers, as it listed it.
struct upstream_listing {
  std::string server;      // the config key
  std::string namespace_;  // the exposed prefix
  std::vector<json> tools;  // tool objects, in the upstream's order
};

struct naming_options {
  std::string separator = "__";
};

struct exposed_tool {
  std::string name;           // what the host sees and calls
  std::string server;         // which upstream owns it
  std::string original_name;  // what that upstream calls it
  json definition;            // the upstream's tool object, `name` replaced by `name` above
};

// Two upstream tools that produced the same exposed name. The first in config order keeps
// it; the other is left out of the catalog.
struct collision {
  std::string exposed_name;
  std::string kept_server;
  std::string kept_original;
  std::string dropped_server;
  std::string dropped_original;
  std::string rule;
};

// An upstream entry that could not be exposed at all (for example a tool without a name).
struct rejected_entry {
  std::string server;
  std::string reason;
};

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

class catalog {
 public:
  catalog() = default;

  [[nodiscard]] const std::vector<exposed_tool>& tools() const { return tools_; }
  [[nodiscard]] const exposed_tool* find_tool(std::string_view exposed_name) const;
  [[nodiscard]] const std::vector<collision>& collisions() const { return collisions_; }
  [[nodiscard]] const std::vector<rejected_entry>& rejected() const { return rejected_; }

  friend catalog build_catalog(const std::vector<upstream_listing>& upstreams,
                               const naming_options& naming);

 private:
  std::vector<exposed_tool> tools_;
  std::unordered_map<std::string, std::size_t, string_hash, std::equal_to<>> by_name_;
  std::vector<collision> collisions_;
  std::vector<rejected_entry> rejected_;
};

// The exposed name for `original` from namespace `ns`: "<ns><separator><original>".
std::string exposed_name(std::string_view ns, std::string_view original,
                         const naming_options& naming);

// Deterministic: the same listings in the same order give the same catalog. Tools keep the
// order of `upstreams`, then each upstream's own order.
catalog build_catalog(const std::vector<upstream_listing>& upstreams, const naming_options& naming);

}  // namespace manifold::ns
