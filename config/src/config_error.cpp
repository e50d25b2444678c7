#include "manifold/config/config_error.hpp"

namespace manifold::config {

namespace {

std::string join(const std::vector<diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) {
    if (!out.empty()) out += '\n';
    out += d.to_string();
  }
  return out;
}

}  // namespace

std::string diagnostic::to_string() const {
  std::string out = position.file;
  if (position.line > 0) {
    out += ':' + std::to_string(position.line) + ':' + std::to_string(position.column);
  }
  out += ": ";
  if (!path.empty()) out += path + ": ";
  return out + message;
}

config_error::config_error(std::vector<diagnostic> diagnostics)
    : std::runtime_error(join(diagnostics)), diagnostics_(std::move(diagnostics)) {}

}  // namespace manifold::config
