#pragma once

// Private to proxy/: a tool's argument constraints (from a tool override), compiled once
// per catalog, and the hidden arguments manifold always sends.

#include <memory>
#include <optional>
#include <string>

#include "manifold/namespace/catalog.hpp"

namespace manifold::proxy {

class argument_check {
 public:
  // Compiles `tool.argument_schema` (a JSON Schema object; null: no constraints).
  explicit argument_check(const ns::exposed_entry& tool);
  ~argument_check();
  argument_check(const argument_check&) = delete;
  argument_check& operator=(const argument_check&) = delete;

  // The first constraint `arguments` breaks, said so that a person or a model can correct
  // the call (which argument, which rule, what it got); nullopt when the call is allowed.
  [[nodiscard]] std::optional<std::string> violation(const ns::json& arguments) const;
  // Puts the hidden arguments into `arguments` (an object).
  void add_fixed(ns::json& arguments) const;

 private:
  struct compiled;
  std::string tool_name_;
  ns::json constraints_;  // the schema's `properties`, to quote the broken rule
  ns::json fixed_;
  std::unique_ptr<compiled> schema_;  // null: no constraints
};

}  // namespace manifold::proxy
