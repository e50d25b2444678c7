#pragma once

// Private to config/: reading one YAML file's values with interpolation and diagnostics,
// for the readers that live outside config_loader.cpp (exec servers, packs).

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <initializer_list>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/config/config_error.hpp"
#include "manifold/config/config_loader.hpp"

namespace manifold::config::detail {

// Every problem goes to `sink` with this file's name and the node's line and column.
class yaml_context {
 public:
  yaml_context(std::string file, const env_lookup& env, std::vector<diagnostic>& sink)
      : file_(std::move(file)), env_(env), sink_(sink) {}

  [[nodiscard]] const std::string& file() const { return file_; }
  [[nodiscard]] const env_lookup& env() const { return env_; }
  [[nodiscard]] std::size_t problems() const { return sink_.size(); }
  [[nodiscard]] source_position position(const YAML::Node& node) const;

  void fail(const YAML::Node& node, const std::string& path, std::string message);
  void fail_at(source_position where, const std::string& path, std::string message);

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  // Calls on_key(key, value, child_path) for each key in `allowed`; reports the others and
  // duplicates.
  template <typename F>
  void for_each_key(const YAML::Node& map, const std::string& path,
                    std::initializer_list<std::string_view> allowed, F&& on_key) {
    std::vector<std::string> seen;
    for (const auto& entry : map) {
      const auto key = entry.first.Scalar();
      const auto child = join(path, key);
      if (std::find(seen.begin(), seen.end(), key) != seen.end()) {
        fail(entry.first, child, "duplicate key");
        continue;
      }
      seen.push_back(key);
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        fail(entry.first, child, "unknown key `" + key + "` (allowed: " + list(allowed) + ")");
        continue;
      }
      on_key(key, entry.second, child);
    }
  }

  bool expect_map(const YAML::Node& node, const std::string& path);
  std::optional<std::string> string_value(const YAML::Node& node, const std::string& path);
  std::optional<bool> bool_value(const YAML::Node& node, const std::string& path);
  std::optional<long long> int_value(const YAML::Node& node, const std::string& path,
                                     long long minimum, long long maximum);
  std::optional<std::chrono::milliseconds> duration_value(const YAML::Node& node,
                                                          const std::string& path);
  std::optional<std::size_t> size_value(const YAML::Node& node, const std::string& path);
  std::vector<std::string> string_list(const YAML::Node& node, const std::string& path);
  std::map<std::string, std::string> string_map(const YAML::Node& node, const std::string& path);
  // A YAML value as JSON, strings interpolated: quoted scalars stay strings; plain ones
  // become null, booleans or numbers when they read as such (after interpolation).
  nlohmann::json json_value(const YAML::Node& node, const std::string& path);

 private:
  static std::string list(std::initializer_list<std::string_view> items);

  std::string file_;
  const env_lookup& env_;
  std::vector<diagnostic>& sink_;
};

}  // namespace manifold::config::detail
