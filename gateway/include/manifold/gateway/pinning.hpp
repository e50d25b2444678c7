#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "manifold/namespace/catalog.hpp"

// Tool pinning: a lock file holds, per exposed tool, a SHA-256 of its name, description and
// schemas (and those fields, to say what changed). A pinned tool that later differs is a
// tool whose description or schema changed under the user.
namespace manifold::gateway {

using json = nlohmann::json;

json make_lock(const ns::catalog& catalog);
// Pinned tools of `catalog` that differ from `lock`: exposed name -> what changed.
std::map<std::string, std::string> changed_pins(const ns::catalog& catalog, const json& lock);

}  // namespace manifold::gateway
