#pragma once

#include <nlohmann/json.hpp>

#include "manifold/config/config.hpp"
#include "manifold/namespace/catalog.hpp"

// Every exposed name's story as JSON: what `manifold collisions --format json` prints and the
// status page's catalog explorer reads (observe/status_page.hpp, /ui/api/catalog):
//   {"entries":[{"kind","name","server","original","decisions",
//                "groups"?,"roles"?,"pinned"?}],
//    "collisions":[...], "filtered":[...], "rejected":[...], "upstreams": <as given>}
namespace manifold::gateway {

struct story_sources {
  const config::config* cfg = nullptr;  // groups: and roles: (null: no groups/roles fields)
  const nlohmann::json* lock = nullptr;  // the pinning lock file's content (null: no pinning)
};

nlohmann::json catalog_report(const ns::catalog& catalog, nlohmann::json upstreams,
                              const story_sources& sources = {});

}  // namespace manifold::gateway
