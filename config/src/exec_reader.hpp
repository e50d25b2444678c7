#pragma once

// Private to config/: reading and checking `servers.<name>.exec` (exec_config.hpp).

#include <string>

#include "manifold/config/exec_config.hpp"
#include "yaml_context.hpp"

namespace manifold::config::detail {

// Reads an exec server into `out`, then checks it as a whole (check_exec).
void read_exec(yaml_context& ctx, const YAML::Node& node, const std::string& path,
               exec_config& out);

// exec_kinds_reader.cpp: the REST and SQL parts.
void read_http_server(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                      http_server_spec& out);
void read_http_tool(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                    http_tool_spec& out);
void read_sql_server(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                     sql_server_spec& out);
void read_sql_tool(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                   sql_tool_spec& out);

// exec_checks.cpp: one parameter's schema (keywords, bounds, pattern, default).
void check_param_schema(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                        const exec_param& param);
// The server as a whole: binaries, templates, stdin, preview references, kinds.
void check_exec(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                const exec_config& exec);

}  // namespace manifold::config::detail
