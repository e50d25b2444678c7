#pragma once

// Private to config/: reading the observability sections (`metrics`, `tracing`, `logs`,
// `tap`, `ui`; config.hpp documents them).

#include <string>

#include "manifold/config/config.hpp"
#include "yaml_context.hpp"

namespace manifold::config::detail {

inline constexpr bool is_observe_key(std::string_view key) {
  return key == "metrics" || key == "tracing" || key == "logs" || key == "tap" || key == "ui";
}

// Reads the top-level section `key` (one of is_observe_key) into `out`.
void read_observe(yaml_context& ctx, const std::string& key, const YAML::Node& node,
                  const std::string& path, config& out);

void read_metrics(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                  metrics_config& out);
void read_tracing(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                  tracing_config& out);
void read_logs(yaml_context& ctx, const YAML::Node& node, const std::string& path,
               logs_config& out);
// `tap.file` is resolved beside the config file (ctx.file()).
void read_tap(yaml_context& ctx, const YAML::Node& node, const std::string& path,
              tap_config& out);
void read_ui(yaml_context& ctx, const YAML::Node& node, const std::string& path, ui_config& out);

}  // namespace manifold::config::detail
