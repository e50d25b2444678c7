#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "manifold/config/exec_config.hpp"

namespace manifold::exec {

// A process's output kept within `max_bytes`: the first bytes (head) or the last (tail).
// Never holds more than twice `max_bytes`. Cuts fall on UTF-8 character boundaries.
class output_buffer {
 public:
  output_buffer(std::size_t max_bytes, config::keep_part keep) : max_(max_bytes), keep_(keep) {}

  void append(std::string_view bytes);
  [[nodiscard]] std::size_t total() const { return total_; }
  [[nodiscard]] bool truncated() const { return total_ > max_; }
  // The kept bytes alone.
  [[nodiscard]] std::string kept() const;
  // The kept bytes with a visible marker where bytes were cut:
  // "[manifold: output truncated: kept the last 65536 of 180000 bytes]".
  [[nodiscard]] std::string text() const;

 private:
  std::size_t max_;
  config::keep_part keep_;
  std::string buffer_;
  std::size_t total_ = 0;
};

}  // namespace manifold::exec
