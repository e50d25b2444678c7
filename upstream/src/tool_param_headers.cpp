#include "tool_param_headers.hpp"

#include <spdlog/spdlog.h>

#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/text.hpp"

namespace manifold::upstream {

bool tool_param_headers::take_listing(protocol::json& result, bool first,
                                      std::string_view upstream) {
  if (first) tools_.clear();
  auto* tools = protocol::member(result, "tools");
  if (tools == nullptr || !tools->is_array()) return false;
  protocol::json kept = protocol::json::array();
  bool dropped = false;
  for (auto& tool : *tools) {
    const auto name = protocol::string_or(tool, "name");
    const auto* schema = protocol::member(tool, "inputSchema");
    auto check = schema != nullptr ? protocol::modern::read_param_headers(*schema)
                                   : protocol::modern::param_headers_check{};
    if (check.problem) {
      spdlog::warn(
          "[{}] tool '{}' left out: its inputSchema has an invalid x-mcp-header annotation: {}",
          upstream, protocol::log_safe(name, 100), protocol::log_safe(*check.problem, 300));
      dropped = true;
      continue;
    }
    if (!check.headers.empty() && !name.empty() && tools_.size() < max_tools) {
      tools_[name] = std::move(check.headers);
    } else if (!name.empty()) {
      tools_.erase(name);
    }
    kept.push_back(std::move(tool));
  }
  *tools = std::move(kept);
  return dropped;
}

std::vector<std::pair<std::string, std::string>> tool_param_headers::headers_for(
    const protocol::json& params) const {
  const auto name = protocol::string_member(params, "name");
  if (!name) return {};
  const auto found = tools_.find(std::string(*name));
  if (found == tools_.end()) return {};
  const auto* arguments = protocol::member(params, "arguments");
  if (arguments == nullptr) return {};
  return protocol::modern::param_header_values(found->second, *arguments);
}

}  // namespace manifold::upstream
