#include "manifold/observe/status_page.hpp"

#include <cstdio>
#include <ctime>

#include "status_assets.hpp"

namespace manifold::observe {

std::span<const status_asset> status_assets() { return detail::embedded_assets(); }

const status_asset* find_status_asset(std::string_view path) {
  if (path == "/" || path == "/ui" || path == "/ui/index.html") path = "/ui/";
  for (const auto& a : status_assets()) {
    if (a.path == path) return &a;
  }
  return nullptr;
}

std::string rfc3339_ms(std::uint64_t unix_ms) {
  const auto secs = static_cast<std::time_t>(unix_ms / 1000);
  const auto ms = static_cast<unsigned>(unix_ms % 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  const auto n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03uZ", tm.tm_year + 1900,
                               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

nlohmann::json to_json(const upstream_status& u) {
  nlohmann::json out{{"name", u.name},         {"state", u.state},         {"transport", u.transport},
                     {"restarts", u.restarts}, {"in_flight", u.in_flight}, {"latency_ms", nullptr},
                     {"last_error", nullptr},  {"protocol_version", u.protocol_version},
                     {"tools", u.tools}};
  if (u.latency_ms) out["latency_ms"] = *u.latency_ms;
  if (!u.last_error.empty()) out["last_error"] = u.last_error;
  return out;
}

nlohmann::json to_json(const status_snapshot& s) {
  nlohmann::json upstreams = nlohmann::json::array();
  for (const auto& u : s.upstreams) upstreams.push_back(to_json(u));
  return {{"version", s.version},
          {"started", rfc3339_ms(s.started_unix_ms)},
          {"ready", s.ready},
          {"catalog",
           {{"tools", s.catalog.tools},
            {"prompts", s.catalog.prompts},
            {"resources", s.catalog.resources},
            {"resource_templates", s.catalog.resource_templates},
            {"hidden", s.catalog.hidden_by_policy},
            {"collisions", s.catalog.collisions},
            {"rebuilds", s.catalog_rebuilds}}},
          {"calls", {{"total", s.calls_total}, {"failed", s.calls_failed}}},
          {"upstreams", std::move(upstreams)}};
}

}  // namespace manifold::observe
