#pragma once

#include <string>

namespace manifold::config {

// Where a value came from, for messages that point a person at the right line.
struct source_position {
  std::string file;
  int line = 0;  // 1-based; 0 when unknown
  int column = 0;
  bool operator==(const source_position&) const = default;
};

}  // namespace manifold::config
