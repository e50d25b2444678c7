// The embedded status page and the JSON it reads.
#include <gtest/gtest.h>

#include "manifold/observe/recent_calls.hpp"
#include "manifold/observe/status_page.hpp"

namespace manifold::observe {
namespace {

using json = nlohmann::json;

TEST(status_page, assets_are_embedded_and_found) {
  const auto* index = find_status_asset("/ui/");
  ASSERT_NE(index, nullptr);
  EXPECT_EQ(index->content_type, "text/html; charset=utf-8");
  EXPECT_EQ(index->body.rfind("<!doctype html>", 0), 0U);
  EXPECT_EQ(find_status_asset("/ui"), index);
  EXPECT_EQ(find_status_asset("/"), index);
  EXPECT_EQ(find_status_asset("/ui/index.html"), index);
  const auto* js = find_status_asset("/ui/app.js");
  ASSERT_NE(js, nullptr);
  EXPECT_EQ(js->content_type, "text/javascript; charset=utf-8");
  EXPECT_NE(js->body.find("/ui/events"), std::string_view::npos);
  ASSERT_NE(find_status_asset("/ui/app.css"), nullptr);
  EXPECT_EQ(find_status_asset("/ui/../etc/passwd"), nullptr);
  EXPECT_EQ(find_status_asset("/ui/missing.js"), nullptr);
  EXPECT_EQ(status_assets().size(), 3U);
}

TEST(status_page, no_external_assets) {
  for (const auto& a : status_assets()) {
    SCOPED_TRACE(std::string(a.path));
    EXPECT_EQ(a.body.find("http://"), std::string_view::npos);
    EXPECT_EQ(a.body.find("https://"), std::string_view::npos);
    EXPECT_EQ(a.body.find("//cdn"), std::string_view::npos);
    EXPECT_EQ(a.body.find("innerHTML"), std::string_view::npos);  // data is shown as text only
    EXPECT_EQ(a.body.find("eval("), std::string_view::npos);
  }
}

TEST(status_page, status_json_shape) {
  status_snapshot s;
  s.version = "0.1.0";
  s.started_unix_ms = 1700000000123;
  s.ready = true;
  s.catalog = {.tools = 12, .prompts = 3, .resources = 5, .resource_templates = 1,
               .hidden_by_policy = 2, .collisions = 1};
  s.catalog_rebuilds = 4;
  s.calls_total = 10;
  s.calls_failed = 1;
  s.upstreams.push_back({.name = "everything", .state = "ready", .transport = "stdio",
                         .restarts = 1, .in_flight = 2, .latency_ms = 1.5,
                         .protocol_version = "2025-06-18", .tools = 11});
  s.upstreams.push_back({.name = "docs", .state = "failed", .transport = "http",
                         .last_error = "connection refused"});
  const auto j = to_json(s);
  EXPECT_EQ(j, json::parse(R"({
    "version": "0.1.0", "started": "2023-11-14T22:13:20.123Z", "ready": true,
    "catalog": {"tools": 12, "prompts": 3, "resources": 5, "resource_templates": 1,
                "hidden": 2, "collisions": 1, "rebuilds": 4},
    "calls": {"total": 10, "failed": 1},
    "upstreams": [
      {"name": "everything", "state": "ready", "transport": "stdio", "restarts": 1,
       "in_flight": 2, "latency_ms": 1.5, "last_error": null,
       "protocol_version": "2025-06-18", "tools": 11},
      {"name": "docs", "state": "failed", "transport": "http", "restarts": 0,
       "in_flight": 0, "latency_ms": null, "last_error": "connection refused",
       "protocol_version": "", "tools": 0}]})"))
      << j.dump(2);
}

TEST(recent_calls, keeps_the_newest_in_a_bounded_ring) {
  recent_calls calls(3);
  for (std::uint64_t i = 0; i < 5; ++i) {
    calls.add({.time_unix_ms = std::uint64_t{1700000000000} + i,
               .principal = "ci-bot",
               .method = "tools/call",
               .tool = "t" + std::to_string(i),
               .upstream = "u",
               .latency_ms = 2.5,
               .outcome = i == 4 ? call_outcome::is_error : call_outcome::ok,
               .error = {},
               .trace_id = {}});
  }
  EXPECT_EQ(calls.total(), 5U);
  EXPECT_EQ(calls.failed(), 1U);
  const auto newest = calls.newest_first();
  ASSERT_EQ(newest.size(), 3U);
  EXPECT_EQ(newest[0].tool, "t4");
  EXPECT_EQ(newest[2].tool, "t2");
  EXPECT_EQ(calls.newest_first(1).size(), 1U);
  const auto j = calls.to_json();
  EXPECT_EQ(j["total"], 5);
  ASSERT_EQ(j["calls"].size(), 3U);
  EXPECT_EQ(j["calls"][0], json::parse(R"({"time": "2023-11-14T22:13:20.004Z", "principal": "ci-bot",
      "method": "tools/call", "tool": "t4", "upstream": "u", "latency_ms": 2.5,
      "outcome": "is_error", "error": "", "trace_id": ""})"));
}

TEST(recent_calls, cuts_long_fields_on_a_character_boundary) {
  recent_calls calls(2);
  std::string long_name(255, 'a');
  long_name += "é" + std::string(100, 'b');
  calls.add({.tool = long_name});
  const auto tool = calls.newest_first()[0].tool;
  EXPECT_EQ(tool, std::string(255, 'a') + "...");
  EXPECT_NO_THROW((void)calls.to_json().dump());
}

}  // namespace
}  // namespace manifold::observe
