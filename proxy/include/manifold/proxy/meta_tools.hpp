#pragma once

#include <string_view>
#include <vector>

#include "manifold/namespace/catalog.hpp"

// The meta-tool mode for catalogs too large for a host: instead of hundreds of tools, the
// host sees search_tools, describe_tool and call_tool. Pure functions over the catalog.
namespace manifold::proxy {

// The three tool definitions the host sees.
ns::json meta_tool_definitions();
[[nodiscard]] bool is_meta_tool(std::string_view name);

// Tools ranked for `query`: every word of the query that appears in a tool's name scores 3,
// in its title or description 1; ties keep catalog order; tools scoring 0 are left out
// (an empty query lists the first `limit`).
std::vector<const ns::exposed_entry*> search_tools(const std::vector<const ns::exposed_entry*>& tools,
                                                   std::string_view query, std::size_t limit);

}  // namespace manifold::proxy
