#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/observe/metrics.hpp"

// The read-only status page: HTML, CSS and vanilla JS from observe/assets/, embedded in the
// binary at build time (no external assets, no CDN), and the JSON it reads.
//
// What the listener serves (same authentication as the admin endpoints when configured):
//   GET /ui, /ui/ (and / if wanted)  index.html   text/html; charset=utf-8
//   GET /ui/app.css, /ui/app.js                   find_status_asset(path)
//   Headers: Content-Security-Policy: status_page_csp; Cache-Control: no-cache;
//            X-Content-Type-Options: nosniff
//
//   GET /ui/api/status   application/json: to_json(status_snapshot)
//     {"version":"0.1.0","started":"2025-05-01T12:00:00.000Z","ready":true,
//      "catalog":{"tools":12,"prompts":3,"resources":5,"resource_templates":1,
//                 "hidden":2,"collisions":1,"rebuilds":4},
//      "calls":{"total":1234,"failed":5},
//      "upstreams":[{"name":"everything","state":"ready","transport":"stdio",
//                    "restarts":0,"in_flight":1,"latency_ms":1.8,
//                    "last_error":null,"protocol_version":"2025-06-18","tools":11}]}
//     state: created | launched | starting | ready | degraded | failed | closed (the page
//     shows failed, closed and degraded in red); latency_ms: null when unknown.
//
//   GET /ui/api/catalog  application/json: the object `manifold collisions --format json`
//     prints, with optional story fields per entry:
//     {"entries":[{"kind":"tool","name":"everything__echo","server":"everything",
//                  "original":"echo","decisions":["prefixed with `everything__`"],
//                  "groups":["readonly"],"roles":["dev"],"pinned":true}],
//      "collisions":[{"kind":"tool","name":"x","kept":{"server":"a","original":"x"},
//                     "dropped":{"server":"b","original":"x"},"rule":"first-wins"}],
//      "filtered":[{"kind":"tool","server":"a","original":"trigger-x",
//                   "rule":"tools.deny `trigger-*`"}],
//      "rejected":[{"server":"a","reason":"..."}],
//      "upstreams":[ ...as in /ui/api/status, or backend::status()'s... ]}
//     kind: tool | prompt | resource | resource template. groups/roles: the groups whose
//     globs admit the name and the roles that may see it (omit when groups/roles are not
//     configured); pinned: true when pinning covers it.
//
//   GET /ui/api/calls    application/json: recent_calls::to_json()
//     {"total":1234,"calls":[{"time":"2025-05-01T12:00:01.250Z","principal":"ci-bot",
//       "method":"tools/call","tool":"everything__echo","upstream":"everything",
//       "latency_ms":2.4,"outcome":"ok","error":"","trace_id":"4bf9..."}, ...newest first]}
//     outcome: ok | jsonrpc_error | is_error | timeout | refused_by_policy | rate_limited |
//     cancelled.
//
//   GET /ui/events       text/event-stream (SSE), one event per change:
//     event: status   data: the /ui/api/status object (whenever an upstream's state,
//                     restarts or the catalog changes; at least every 10 s while open)
//     event: call     data: one call object as in /ui/api/calls (each finished call)
//     event: catalog  data: {"rebuilds":N} (the page refetches /ui/api/catalog)
//     The page reconnects (EventSource) and refetches everything on reconnect.
namespace manifold::observe {

struct status_asset {
  std::string_view path{};  // "/ui/", "/ui/app.css", "/ui/app.js"
  std::string_view content_type{};
  std::string_view body{};
};

// Every embedded asset.
std::span<const status_asset> status_assets();
// The asset served at `path` ("/", "/ui" and "/ui/index.html" are "/ui/"); null otherwise.
const status_asset* find_status_asset(std::string_view path);

inline constexpr std::string_view status_page_csp =
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

struct upstream_status {
  std::string name{};
  std::string state{};      // upstream_series::states
  std::string transport{};  // stdio | http | sse | websocket | exec
  std::uint64_t restarts = 0;
  std::uint64_t in_flight = 0;
  std::optional<double> latency_ms{};  // e.g. the last health probe or median recent call
  std::string last_error{};            // empty: none
  std::string protocol_version{};
  std::size_t tools = 0;
};

struct status_snapshot {
  std::string version{};
  std::uint64_t started_unix_ms = 0;
  bool ready = false;
  catalog_counts catalog{};
  std::uint64_t catalog_rebuilds = 0;
  std::uint64_t calls_total = 0;
  std::uint64_t calls_failed = 0;
  std::vector<upstream_status> upstreams{};
};

nlohmann::json to_json(const upstream_status& u);
nlohmann::json to_json(const status_snapshot& s);

// RFC 3339 UTC with milliseconds: "2025-05-01T12:00:01.250Z".
std::string rfc3339_ms(std::uint64_t unix_ms);

}  // namespace manifold::observe
