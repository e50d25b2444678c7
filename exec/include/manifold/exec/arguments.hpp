#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "manifold/config/exec_config.hpp"

namespace manifold::exec {

using json = nlohmann::json;

// The arguments of one call after checking: every declared parameter that is present (given
// or defaulted), typed as declared; or why the call is refused.
struct checked_arguments {
  json values = json::object();
  std::string plan_id;  // tools with `preview:`; already matched against its pattern
  std::string error;    // empty when the call may go on
  [[nodiscard]] bool ok() const { return error.empty(); }
};

// One tool's parameters, compiled once. The published inputSchema is exactly the declared
// parameters (plus `plan_id` for a tool with a preview) with additionalProperties: false,
// and check() enforces that same schema, after bounding every value's size so that no
// pattern ever runs over more than maxLength characters.
// Thread: any; check() does not modify the checker.
class argument_checker {
 public:
  explicit argument_checker(const config::exec_tool& tool);
  ~argument_checker();
  argument_checker(const argument_checker&) = delete;
  argument_checker& operator=(const argument_checker&) = delete;

  [[nodiscard]] const json& input_schema() const;
  // Refused: not an object, unknown parameters, NUL anywhere, CR/LF outside the stdin
  // parameter, values over their bounds, anything the schema rejects.
  [[nodiscard]] checked_arguments check(const json& arguments) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace manifold::exec
