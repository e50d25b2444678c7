#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "manifold/config/source_position.hpp"

// How manifold keeps its upstreams alive, and how failures are rehearsed on purpose
// (`faults:`). Plain values; config_loader reads them (supervision_reader.cpp).
//
// lifecycle:                      # defaults for every server, and the host-facing settings
//   initialize_grace: 3s          # a host's initialize is answered after at most this long,
//                                 # with what is ready; later upstreams join (list_changed)
//   drain_timeout: 30s            # SIGTERM over HTTP: calls in flight may finish this long
//   on_down: hide                 # default for every server (else: hide for stdio and exec,
//                                 # error for network upstreams, which keep their catalog)
//   restart: {...}  health: {...}  breaker: {...}   # defaults, as under a server
// servers:
//   x:
//     start: eager                # eager | lazy (started at the first call that needs it)
//     idle_timeout: 10m           # stopped after this long without calls (0/absent: never)
//     on_down: hide               # hide: tools withdrawn while down (list_changed);
//                                 # error: kept listed, calls answered "temporarily unavailable"
//     restart: {backoff: 500ms, max_backoff: 30s, jitter: 0.2, max_restarts: 5, reset_after: 60s}
//                                 # or `restart: false`
//     health: {interval: 30s, timeout: 5s, failures: 3}     # or `health: false`
//     breaker: {failures: 5, cooldown: 30s}                  # or `breaker: false`
// tools:
//   x__search: {timeout: 5m, retry: true}   # per-tool deadline; retry after a transport break
// faults:                          # off unless present; hot-reloadable
//   - {server: "x", tool: "search*", action: crash, every: 3}
//   - {action: delay, delay: 2s, probability: 0.1}
namespace manifold::config {

// Restarts after a crash: delays grow from `backoff` by doubling up to `max_backoff`, each
// shortened at random by up to `jitter` of itself; after `max_restarts` restarts in a row
// (the count clears once the upstream has stayed up for `reset_after`) it stays down until a
// reload (SIGHUP or a changed config) retries it.
struct restart_config {
  bool enabled = true;
  std::chrono::milliseconds backoff{500};
  std::chrono::milliseconds max_backoff{std::chrono::seconds(30)};
  double jitter = 0.2;
  std::size_t max_restarts = 5;
  std::chrono::milliseconds reset_after{std::chrono::seconds(60)};
  bool operator==(const restart_config&) const = default;
};

// An MCP `ping` every `interval`, answered within `timeout`; a failed probe marks the
// upstream degraded, `failures` in a row restart (or reconnect) it.
struct health_config {
  bool enabled = true;
  std::chrono::milliseconds interval{std::chrono::seconds(30)};
  std::chrono::milliseconds timeout{std::chrono::seconds(5)};
  std::size_t failures = 3;
  bool operator==(const health_config&) const = default;
};

// After `failures` calls in a row that time out or find the link broken, calls fail at once
// for `cooldown`; then one call is let through as a probe: success closes the breaker.
struct breaker_config {
  bool enabled = true;
  std::size_t failures = 5;
  std::chrono::milliseconds cooldown{std::chrono::seconds(30)};
  bool operator==(const breaker_config&) const = default;
};

enum class start_mode { eager, lazy };
enum class down_mode { hide, error };

// A server's supervision settings (inside server_config).
struct supervision_config {
  start_mode start = start_mode::eager;
  std::chrono::milliseconds idle_timeout{0};  // 0: never stopped for idleness
  down_mode on_down = down_mode::hide;
  restart_config restart;
  health_config health;
  breaker_config breaker;
  // Written under the server (else `lifecycle:` or the per-transport default applies).
  bool on_down_set = false;
  bool restart_set = false;
  bool health_set = false;
  bool breaker_set = false;
  bool operator==(const supervision_config&) const = default;
};

struct lifecycle_config {
  std::chrono::milliseconds initialize_grace{std::chrono::seconds(3)};
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(30)};
  down_mode on_down = down_mode::hide;
  bool on_down_set = false;
  restart_config restart;
  health_config health;
  breaker_config breaker;
};

enum class fault_action { delay, error, is_error, drop, crash, garbage, stall };

// One `faults:` entry: calls to tools of `server` whose original name matches `tool` (globs:
// `*` any run, `?` one character) are hit with `action`, either with `probability` or on
// every `every`-th matching call.
struct fault_rule {
  std::string server = "*";
  std::string tool = "*";
  fault_action action = fault_action::error;
  double probability = 0;  // 0..1; used when `every` is 0
  std::size_t every = 0;
  std::chrono::milliseconds delay{0};  // delay: added latency; stall: how long the stream stalls
  int code = -32603;                   // error: the JSON-RPC error
  std::string message = "injected fault";
  source_position position;
  bool operator==(const fault_rule&) const = default;
};

}  // namespace manifold::config
