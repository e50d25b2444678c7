#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace manifold::config {

struct interpolation_result {
  std::string value;
  std::string error;  // empty on success
};

// Expands ${VAR} and ${VAR:-default} (default used when VAR is unset or empty); "$$" is a
// literal '$'. An unset variable without a default is an error naming it. Inside an included
// pack, ${var:NAME} is the pack variable NAME (looked up as "var:NAME").
interpolation_result interpolate(
    std::string_view text, const std::function<std::optional<std::string>(const std::string&)>& env);

}  // namespace manifold::config
