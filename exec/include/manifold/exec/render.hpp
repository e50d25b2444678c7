#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "manifold/config/exec_config.hpp"

namespace manifold::exec {

// What one CLI call runs: the binary, the arguments after it, and its stdin.
struct rendered_command {
  std::string binary;
  std::vector<std::string> argv;
  std::vector<bool> literal;  // argv[i] came from the template alone (no parameter value)
  std::optional<std::string> stdin_data;
};

struct render_outcome {
  rendered_command command;
  std::string error;  // empty when rendered
  [[nodiscard]] bool ok() const { return error.empty(); }
};

// Fills `tool`'s argv template with checked `values` (arguments.hpp). Each value becomes
// exactly one argv element in its slot (an array: one element per item, the element
// repeated); an element whose `when` parameter is absent, false or an empty list is left
// out. Refused: a
// value with NUL, CR or LF (stdin excepted), or starting with `-` anywhere but right after a
// literal `=` (where it cannot read as an option).
render_outcome render_command(const config::exec_tool& tool, const nlohmann::json& values);

// How a value is written into a slot: strings as they are, integers in decimal, booleans
// as true/false, other numbers as JSON writes them.
std::string slot_text(const nlohmann::json& value);

}  // namespace manifold::exec
