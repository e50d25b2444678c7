#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "manifold/config/config.hpp"

namespace manifold::config {

// Looks up an environment variable for ${VAR} interpolation (tests pass their own).
using env_lookup = std::function<std::optional<std::string>(const std::string&)>;
env_lookup process_environment();

// Parses a config file. Throws config_error naming file, line, column and YAML path for
// every problem found: syntax, unknown keys, wrong types, bad values, unset variables.
config load_config_file(const std::string& path, const env_lookup& env = process_environment());
config parse_config(std::string_view text, const std::string& source_name,
                    const env_lookup& env = process_environment());

// A faults file (`manifold serve --faults FILE`): a mapping with only `faults:`, read like
// the config's own section. Throws config_error.
std::vector<fault_rule> load_faults_file(const std::string& path, const env_lookup& env = process_environment());

// The same config in manifold's YAML (what `manifold import` prints): servers with their
// command, args, env, cwd, url, transport and headers.
std::string to_yaml(const config& cfg);

}  // namespace manifold::config
