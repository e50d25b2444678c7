#pragma once

// Private to config/: reading the supervision settings (a server's `start`, `idle_timeout`,
// `on_down`, `restart`, `health`, `breaker`; the top-level `lifecycle:` and `faults:`;
// supervision_config.hpp documents them).

#include <string>
#include <string_view>
#include <vector>

#include "manifold/config/config.hpp"
#include "yaml_context.hpp"

namespace manifold::config::detail {

inline constexpr bool is_supervision_server_key(std::string_view key) {
  return key == "start" || key == "idle_timeout" || key == "on_down" || key == "restart" ||
         key == "health" || key == "breaker";
}

// Reads the server key `key` (one of is_supervision_server_key) into `out`.
void read_server_supervision(yaml_context& ctx, const std::string& key, const YAML::Node& node,
                             const std::string& path, supervision_config& out);
void read_lifecycle(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                    lifecycle_config& out);
void read_faults(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                 std::vector<fault_rule>& out);
// Gives every server the `lifecycle:` defaults (or the per-transport ones) for what it does
// not set itself.
void apply_lifecycle_defaults(config& cfg);

}  // namespace manifold::config::detail
