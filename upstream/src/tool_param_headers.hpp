#pragma once

// Private to upstream/: what a Streamable HTTP client of a 2026-07-28 server keeps of the
// tools it listed, for the Mcp-Param-* headers of its tools/call requests (x-mcp-header).
// Thread: the owning link's executor; no locking.

#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "manifold/protocol/json_rpc.hpp"
#include "manifold/protocol/param_headers.hpp"

namespace manifold::upstream {

class tool_param_headers {
 public:
  // Reads one page of a tools/list result: tools whose x-mcp-header annotations are invalid
  // are removed from `result` (with a warning naming the tool and the reason), the others'
  // annotations kept by tool name. A first page (`first`: the request had no cursor) starts
  // a new listing. Returns whether `result` changed.
  bool take_listing(protocol::json& result, bool first, std::string_view upstream);

  // The Mcp-Param-* headers of a tools/call with `params` (name and arguments); none for a
  // tool never listed or without annotations.
  [[nodiscard]] std::vector<std::pair<std::string, std::string>> headers_for(
      const protocol::json& params) const;

 private:
  static constexpr std::size_t max_tools = 10000;  // annotated tools remembered
  std::unordered_map<std::string, std::vector<protocol::modern::param_header>> tools_;
};

}  // namespace manifold::upstream
