// The supervision settings: restart, health, breaker, start and idle stop per server, the
// `lifecycle:` defaults, per-tool deadlines and retries, and `faults:`.
#include <gtest/gtest.h>

#include <algorithm>

#include "manifold/config/config_error.hpp"
#include "manifold/config/config_loader.hpp"

namespace manifold::config {
namespace {

using std::chrono::milliseconds;

config parse(const std::string& text) {
  return parse_config(text, "test.yaml",
                      [](const std::string&) { return std::optional<std::string>(); });
}

std::vector<diagnostic> errors_of(const std::string& text) {
  try {
    parse(text);
  } catch (const config_error& e) {
    return e.diagnostics();
  }
  return {};
}

TEST(supervision_config, defaults_keep_processes_restarting_and_network_upstreams_listed) {
  const auto cfg =
      parse("servers:\n  proc: {command: x}\n  net: {url: \"http://127.0.0.1:1/mcp\"}\n");
  const auto& proc = cfg.servers[0].supervision;
  EXPECT_EQ(proc.start, start_mode::eager);
  EXPECT_EQ(proc.idle_timeout, milliseconds(0));
  EXPECT_EQ(proc.on_down, down_mode::hide);
  EXPECT_TRUE(proc.restart.enabled);
  EXPECT_EQ(proc.restart.backoff, milliseconds(500));
  EXPECT_EQ(proc.restart.max_backoff, std::chrono::seconds(30));
  EXPECT_EQ(proc.restart.max_restarts, 5U);
  EXPECT_TRUE(proc.health.enabled);
  EXPECT_EQ(proc.health.interval, std::chrono::seconds(30));
  EXPECT_EQ(proc.breaker.failures, 5U);
  EXPECT_EQ(cfg.servers[1].supervision.on_down,
            down_mode::error);  // keeps its catalog while reconnecting
  EXPECT_EQ(cfg.lifecycle.initialize_grace, std::chrono::seconds(3));
  EXPECT_TRUE(cfg.faults.empty());
}

TEST(supervision_config, servers_override_lifecycle_defaults) {
  const auto cfg = parse(R"(
lifecycle:
  initialize_grace: 500ms
  drain_timeout: 10s
  on_down: error
  restart: {backoff: 1s, max_backoff: 1m, max_restarts: 9}
  health: false
servers:
  a:
    command: x
    start: lazy
    idle_timeout: 10m
    on_down: hide
    restart: {backoff: 50ms, max_backoff: 2s, jitter: 0, max_restarts: 2, reset_after: 5m}
    health: {interval: 5s, timeout: 1s, failures: 2}
    breaker: {failures: 3, cooldown: 10s}
  b:
    command: y
    breaker: false
tools:
  a__search: {timeout: 5m, retry: true}
)");
  EXPECT_EQ(cfg.lifecycle.initialize_grace, milliseconds(500));
  EXPECT_EQ(cfg.lifecycle.drain_timeout, std::chrono::seconds(10));
  const auto& a = cfg.servers[0].supervision;
  EXPECT_EQ(a.start, start_mode::lazy);
  EXPECT_EQ(a.idle_timeout, std::chrono::minutes(10));
  EXPECT_EQ(a.on_down, down_mode::hide);
  EXPECT_EQ(a.restart.backoff, milliseconds(50));
  EXPECT_EQ(a.restart.jitter, 0.0);
  EXPECT_EQ(a.restart.max_restarts, 2U);
  EXPECT_EQ(a.restart.reset_after, std::chrono::minutes(5));
  EXPECT_EQ(a.health.interval, std::chrono::seconds(5));
  EXPECT_EQ(a.health.failures, 2U);
  EXPECT_EQ(a.breaker.failures, 3U);
  const auto& b = cfg.servers[1].supervision;
  EXPECT_EQ(b.on_down, down_mode::error);                 // lifecycle's
  EXPECT_EQ(b.restart.backoff, std::chrono::seconds(1));  // lifecycle's
  EXPECT_EQ(b.restart.max_restarts, 9U);
  EXPECT_FALSE(b.health.enabled);
  EXPECT_FALSE(b.breaker.enabled);
  ASSERT_EQ(cfg.tools.size(), 1U);
  EXPECT_EQ(cfg.tools[0].timeout, std::chrono::minutes(5));
  EXPECT_EQ(cfg.tools[0].retry, true);
}

TEST(supervision_config, faults_are_read_with_their_positions) {
  const auto cfg = parse(R"(servers:
  a: {command: x}
faults:
  - {server: a, tool: "search*", action: crash, every: 3}
  - {action: delay, delay: 2s, probability: 0.25}
  - {action: error, code: -32050, message: "nope", every: 1}
)");
  ASSERT_EQ(cfg.faults.size(), 3U);
  EXPECT_EQ(cfg.faults[0].server, "a");
  EXPECT_EQ(cfg.faults[0].tool, "search*");
  EXPECT_EQ(cfg.faults[0].action, fault_action::crash);
  EXPECT_EQ(cfg.faults[0].every, 3U);
  EXPECT_EQ(cfg.faults[0].position.line, 4);
  EXPECT_EQ(cfg.faults[1].server, "*");
  EXPECT_EQ(cfg.faults[1].delay, std::chrono::seconds(2));
  EXPECT_DOUBLE_EQ(cfg.faults[1].probability, 0.25);
  EXPECT_EQ(cfg.faults[2].code, -32050);
  EXPECT_EQ(cfg.faults[2].message, "nope");
}

TEST(supervision_config, mistakes_name_file_line_column_and_path) {
  const auto errors = errors_of(R"(servers:
  a:
    command: x
    start: later
    on_down: vanish
    restart: {backoff: 2s, max_backoff: 1s}
    health: {interval: soon}
    breaker: {failures: 0}
faults:
  - {action: crash}
  - {action: delay, every: 1}
  - {action: explode, every: 1}
tools:
  a__x: {retry: maybe}
)");
  std::vector<std::string> seen;
  for (const auto& d : errors) seen.push_back(d.to_string());
  auto has = [&](const std::string& text) {
    return std::any_of(seen.begin(), seen.end(),
                       [&](const std::string& s) { return s.find(text) != std::string::npos; });
  };
  EXPECT_TRUE(has("test.yaml:4:12")) << ::testing::PrintToString(seen);
  EXPECT_TRUE(has("start must be `eager`"));
  EXPECT_TRUE(has("test.yaml:5:14"));
  EXPECT_TRUE(has("max_backoff must be at least backoff"));
  EXPECT_TRUE(has("servers.a.health.interval"));
  EXPECT_TRUE(has("servers.a.breaker.failures"));
  EXPECT_TRUE(has("a fault needs `every: N`"));
  EXPECT_TRUE(has("a delay or stall fault needs `delay: DURATION`"));
  EXPECT_TRUE(has("test.yaml:12:14"));
  EXPECT_TRUE(has("retry must be true or false"));
}

}  // namespace
}  // namespace manifold::config
