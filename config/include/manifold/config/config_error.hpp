#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "manifold/config/config.hpp"

namespace manifold::config {

// One problem in a config file: where, which YAML path, and what is wrong.
struct diagnostic {
  source_position position;
  std::string path;  // e.g. servers.everything.timeout
  std::string message;

  // "file:line:col: servers.x.timeout: message"
  [[nodiscard]] std::string to_string() const;
};

// Thrown by the loader with every problem it found in one pass.
class config_error : public std::runtime_error {
 public:
  explicit config_error(std::vector<diagnostic> diagnostics);
  [[nodiscard]] const std::vector<diagnostic>& diagnostics() const { return diagnostics_; }

 private:
  std::vector<diagnostic> diagnostics_;
};

}  // namespace manifold::config
