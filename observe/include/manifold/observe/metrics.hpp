#pragma once

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

// The process's metrics registry (prometheus-cpp core) with typed handles for everything
// manifold counts, and the Prometheus text exposition of it (`GET /metrics`).
//
// Names follow the OpenTelemetry MCP semantic conventions where they define one
// (`mcp.server.operation.duration` -> `mcp_server_operation_duration_seconds`, buckets
// [0.01 .. 300] s); manifold's own are `manifold_*`; process metrics are the standard
// `process_*`. Label cardinality is bounded: `method` is one of the MCP methods (others:
// "other"), `tool` is an exposed tool name from the allowlist set by set_exposed_tools
// (capped at max_tool_labels; others: "other"), `upstream` a configured upstream name
// (capped at max_upstreams; others: "other"). Session ids and arguments are never labels.
//
// Thread: the recording and update calls (record_*, call_series, upstream_series, the
// listener and catalog calls, set_exposed_tools) from one thread, the io thread; serialize()
// from any thread (prometheus-cpp's metrics are atomic).
namespace manifold::observe {

// How one call ended. ok: a result without isError.
enum class call_outcome : std::uint8_t {
  ok,
  jsonrpc_error,      // a JSON-RPC error (from the upstream or manifold)
  is_error,           // a tools/call result with isError: true
  timeout,            // no reply within the deadline
  refused_by_policy,  // a role, rule or argument constraint refused it
  rate_limited,       // a rate limit or concurrency cap refused it
  cancelled,          // the host cancelled it (notifications/cancelled, disconnect)
};
inline constexpr std::size_t call_outcome_count = 7;
std::string_view to_string(call_outcome outcome);

// The host-facing transports (label `transport`).
enum class transport : std::uint8_t { stdio, streamable_http, sse, websocket };
inline constexpr std::size_t transport_count = 4;
std::string_view to_string(transport t);

struct metrics_options {
  std::size_t max_tool_labels = 200;  // config metrics.max_tool_labels
  std::size_t max_upstreams = 256;
  std::size_t max_label_sets = 4096;  // (method, tool, upstream) series per side
  bool process_metrics = true;        // process_* read from /proc at scrape time
  std::string version{};                // manifold_build_info{version}
};

// The series of one (method, tool, upstream) label set on one side (host-facing server or
// upstream-facing client). Found once, kept by the registry for its lifetime: a caller may
// cache the reference. observe() allocates nothing once an outcome has been seen.
class call_series {
 public:
  void observe(call_outcome outcome, std::chrono::nanoseconds duration);
  void observe_seconds(call_outcome outcome, double seconds);

 private:
  friend class metrics;
  struct families;
  call_series(const families* f, std::string method, std::string tool, std::string upstream,
              bool server_side);
  prometheus::Histogram& histogram(call_outcome outcome);

  const families* families_;
  std::string method_;
  std::string tool_;
  std::string upstream_;
  bool server_side_;
  std::array<prometheus::Histogram*, call_outcome_count> duration_{};
  std::array<prometheus::Counter*, call_outcome_count> calls_{};
  std::array<prometheus::Counter*, call_outcome_count> errors_{};
};

// One upstream's series (label `upstream`).
class upstream_series {
 public:
  // `state` is one of `states` (upstream::to_string's names): the series
  // `manifold_upstream_state{upstream, state}` of that state becomes 1, the others 0.
  // Another value sets them all to 0.
  void set_state(std::string_view state);
  void restarted();
  void call_started();   // in-flight + 1
  void call_finished();  // in-flight - 1
  void health_probe(std::chrono::nanoseconds latency);
  void bytes_received(std::size_t n);
  void bytes_sent(std::size_t n);
  // What the series hold now (for the status page).
  [[nodiscard]] std::uint64_t restarts() const;
  [[nodiscard]] std::uint64_t in_flight() const;

  static constexpr std::array<std::string_view, 9> states{
      "created", "launched", "starting", "ready", "degraded", "backing-off", "idle", "failed", "stopped"};

 private:
  friend class metrics;
  upstream_series() = default;
  std::array<prometheus::Gauge*, states.size()> state_{};
  prometheus::Counter* restarts_ = nullptr;
  prometheus::Gauge* in_flight_ = nullptr;
  prometheus::Histogram* probe_ = nullptr;
  prometheus::Counter* received_ = nullptr;
  prometheus::Counter* sent_ = nullptr;
};

// What a catalog build produced (gauges, replaced on each rebuild).
struct catalog_counts {
  std::size_t tools = 0;
  std::size_t prompts = 0;
  std::size_t resources = 0;
  std::size_t resource_templates = 0;
  std::size_t hidden_by_policy = 0;  // entries filters, groups or pins hid
  std::size_t collisions = 0;
};

class metrics {
 public:
  explicit metrics(metrics_options options = {});
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  // ---- per call ----
  // The exposed tools that may appear as a `tool` label value, in priority order (the
  // first max_tool_labels are kept). Call on each catalog swap. Series already created
  // stay (counters never go back).
  void set_exposed_tools(const std::vector<std::string>& names);
  // `tool` as it would be labelled: itself when allowlisted, "other" otherwise, "" for "".
  [[nodiscard]] std::string_view tool_label(std::string_view tool) const;

  // Host side: mcp_server_operation_duration_seconds, manifold_calls_total,
  // manifold_call_errors_total. `tool` is the exposed name (or prompt name); empty for
  // methods without one. `upstream` empty when manifold answered itself.
  call_series& server_call(std::string_view method, std::string_view tool,
                           std::string_view upstream);
  // Upstream side: mcp_client_operation_duration_seconds. `tool` is the exposed name.
  call_series& client_call(std::string_view method, std::string_view tool,
                           std::string_view upstream);
  void record_server_call(std::string_view method, std::string_view tool,
                          std::string_view upstream, call_outcome outcome,
                          std::chrono::nanoseconds duration) {
    server_call(method, tool, upstream).observe(outcome, duration);
  }
  void record_client_call(std::string_view method, std::string_view tool,
                          std::string_view upstream, call_outcome outcome,
                          std::chrono::nanoseconds duration) {
    client_call(method, tool, upstream).observe(outcome, duration);
  }

  // ---- per upstream ----
  upstream_series& upstream(std::string_view name);

  // ---- per listener ----
  void session_opened(transport t);
  void session_closed(transport t, std::chrono::nanoseconds lifetime);
  void http_response(int status);  // manifold_http_responses_total{code, class}
  void sse_stream_opened(transport t);
  void sse_stream_closed(transport t);

  // ---- catalog ----
  void catalog_rebuilt(const catalog_counts& counts);

  // ---- manifold's own pipelines ----
  void spans_exported(std::size_t n);
  void spans_dropped(std::string_view reason, std::size_t n);  // queue_full | export_failed
  void tap_records_lost(std::size_t n);

  // The Prometheus text exposition format (version 0.0.4) of every metric, the process
  // metrics read now. Content-Type: text/plain; version=0.0.4; charset=utf-8
  [[nodiscard]] std::string serialize() const;
  [[nodiscard]] std::shared_ptr<prometheus::Registry> registry() const;

  static constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

// The OTel MCP operation duration buckets, in seconds.
inline constexpr std::array<double, 14> operation_buckets{0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1,
                                                          2,    5,    10,   30,  60,  120, 300};

// `method` as it would be labelled: a known MCP method, or "other".
std::string_view method_label(std::string_view method);

}  // namespace manifold::observe
