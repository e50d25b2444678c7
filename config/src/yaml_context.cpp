#include "yaml_context.hpp"

#include "manifold/config/interpolate.hpp"
#include "manifold/config/units.hpp"

namespace manifold::config::detail {

source_position yaml_context::position(const YAML::Node& node) const {
  source_position pos{file_, 0, 0};
  if (node.IsDefined()) {
    const auto mark = node.Mark();
    if (mark.line >= 0) {
      pos.line = mark.line + 1;
      pos.column = mark.column + 1;
    }
  }
  return pos;
}

void yaml_context::fail(const YAML::Node& node, const std::string& path, std::string message) {
  sink_.push_back({position(node), path, std::move(message)});
}

void yaml_context::fail_at(source_position where, const std::string& path, std::string message) {
  sink_.push_back({std::move(where), path, std::move(message)});
}

std::string yaml_context::list(std::initializer_list<std::string_view> items) {
  std::string out;
  for (const auto item : items) {
    if (!out.empty()) out += ", ";
    out += item;
  }
  return out;
}

bool yaml_context::expect_map(const YAML::Node& node, const std::string& path) {
  if (node.IsMap()) return true;
  fail(node, path, "expected a mapping");
  return false;
}

std::optional<std::string> yaml_context::string_value(const YAML::Node& node,
                                                      const std::string& path) {
  if (!node.IsScalar()) {
    fail(node, path, "expected a string");
    return std::nullopt;
  }
  auto expanded = interpolate(node.Scalar(), env_);
  if (!expanded.error.empty()) {
    fail(node, path, expanded.error);
    return std::nullopt;
  }
  return std::move(expanded.value);
}

std::optional<bool> yaml_context::bool_value(const YAML::Node& node, const std::string& path) {
  const auto v = string_value(node, path);
  if (!v) return std::nullopt;
  if (*v == "true" || *v == "false") return *v == "true";
  fail(node, path, "expected true or false");
  return std::nullopt;
}

std::optional<long long> yaml_context::int_value(const YAML::Node& node, const std::string& path,
                                                 long long minimum, long long maximum) {
  const auto v = string_value(node, path);
  if (!v) return std::nullopt;
  try {
    std::size_t used = 0;
    const auto n = std::stoll(*v, &used);
    if (used == v->size() && n >= minimum && n <= maximum) return n;
  } catch (const std::exception&) {
  }
  fail(
      node, path,
      "expected a whole number from " + std::to_string(minimum) + " to " + std::to_string(maximum));
  return std::nullopt;
}

std::optional<std::chrono::milliseconds> yaml_context::duration_value(const YAML::Node& node,
                                                                      const std::string& path) {
  const auto text = string_value(node, path);
  if (!text) return std::nullopt;
  const auto d = parse_duration(*text);
  if (!d || d->count() <= 0) {
    fail(node, path,
         "expected a positive duration such as 500ms, 30s or 2m, not \"" + *text + "\"");
    return std::nullopt;
  }
  return d;
}

std::optional<std::size_t> yaml_context::size_value(const YAML::Node& node,
                                                    const std::string& path) {
  const auto text = string_value(node, path);
  if (!text) return std::nullopt;
  const auto n = parse_size(*text);
  if (!n || *n == 0) {
    fail(node, path, "expected a size such as 64KiB or 1MiB, not \"" + *text + "\"");
    return std::nullopt;
  }
  return n;
}

std::vector<std::string> yaml_context::string_list(const YAML::Node& node,
                                                   const std::string& path) {
  std::vector<std::string> out;
  if (!node.IsSequence()) {
    fail(node, path, "expected a list of strings");
    return out;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    if (auto v = string_value(node[i], path + "[" + std::to_string(i) + "]")) {
      out.push_back(std::move(*v));
    }
  }
  return out;
}

std::map<std::string, std::string> yaml_context::string_map(const YAML::Node& node,
                                                            const std::string& path) {
  std::map<std::string, std::string> out;
  if (!expect_map(node, path)) return out;
  for (const auto& entry : node) {
    const auto key = entry.first.Scalar();
    if (auto v = string_value(entry.second, join(path, key))) out[key] = std::move(*v);
  }
  return out;
}

nlohmann::json yaml_context::json_value(const YAML::Node& node, const std::string& path) {
  if (node.IsMap()) {
    auto out = nlohmann::json::object();
    for (const auto& e : node) {
      out[e.first.Scalar()] = json_value(e.second, join(path, e.first.Scalar()));
    }
    return out;
  }
  if (node.IsSequence()) {
    auto out = nlohmann::json::array();
    for (std::size_t i = 0; i < node.size(); ++i) {
      out.push_back(json_value(node[i], path + "[" + std::to_string(i) + "]"));
    }
    return out;
  }
  if (!node.IsScalar() || node.IsNull()) return nullptr;
  auto text = string_value(node, path);
  if (!text) return nullptr;
  if (node.Tag() == "!") return *text;  // quoted
  if (*text == "true" || *text == "false") return *text == "true";
  if (*text == "null" || *text == "~") return nullptr;
  const auto number = nlohmann::json::parse(*text, nullptr, false);
  if (number.is_number()) return number;
  return *text;
}

}  // namespace manifold::config::detail
