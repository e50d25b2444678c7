#include "manifold/config/exec_config.hpp"

#include <algorithm>

namespace manifold::config {

std::chrono::milliseconds longest_run(const exec_config& exec) {
  std::chrono::milliseconds longest{0};
  for (const auto& tool : exec.tools) {
    const auto run =
        tool.stream.enabled ? std::max(tool.stream.max_duration, tool.timeout) : tool.timeout;
    longest = std::max(longest, run + tool.kill_grace);
  }
  return longest + std::chrono::seconds(5);
}

}  // namespace manifold::config
