#include "manifold/observe/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <functional>
#include <unordered_map>
#include <unordered_set>

#include "process_collector.hpp"

namespace manifold::observe {

namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

constexpr std::string_view other = "other";

// Every method MCP defines, both eras, both directions: the `method` label values.
constexpr std::array<std::string_view, 37> known_methods{
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "prompts/list",
    "prompts/get",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "resources/subscribe",
    "resources/unsubscribe",
    "subscriptions/listen",
    "completion/complete",
    "logging/setLevel",
    "tasks/get",
    "tasks/result",
    "tasks/cancel",
    "tasks/list",
    "sampling/createMessage",
    "elicitation/create",
    "roots/list",
    "notifications/initialized",
    "notifications/cancelled",
    "notifications/progress",
    "notifications/message",
    "notifications/roots/list_changed",
    "notifications/tools/list_changed",
    "notifications/prompts/list_changed",
    "notifications/resources/list_changed",
    "notifications/resources/updated",
    "notifications/tasks/status",
    "notifications/elicitation/complete",
    "manifold/search_tools",
    "manifold/describe_tool",
    "manifold/call_tool",
    "",
};

constexpr std::array<double, 12> probe_buckets{0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                               0.1,   0.25,   0.5,   1,    2.5,   10};

// Session lifetimes: seconds to a day.
constexpr std::array<double, 12> session_buckets{1,    5,    10,    30,    60,    300,
                                                 900, 1800, 3600, 7200, 21600, 86400};

template <std::size_t N>
Histogram::BucketBoundaries boundaries(const std::array<double, N>& b) {
  return {b.begin(), b.end()};
}

double seconds_of(std::chrono::nanoseconds d) { return std::chrono::duration<double>(d).count(); }

// Transparent hashing: lookups by string_view allocate nothing.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct series_key {
  std::string method;
  std::string tool;
  std::string upstream;
};
struct series_key_view {
  std::string_view method;
  std::string_view tool;
  std::string_view upstream;
};
struct series_hash {
  using is_transparent = void;
  static std::size_t combine(std::string_view a, std::string_view b, std::string_view c) {
    const std::hash<std::string_view> h;
    auto seed = h(a);
    seed ^= h(b) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
    seed ^= h(c) + 0x9e3779b97f4a7c15ULL + (seed << 6) + (seed >> 2);
    return seed;
  }
  std::size_t operator()(const series_key& k) const { return combine(k.method, k.tool, k.upstream); }
  std::size_t operator()(const series_key_view& k) const {
    return combine(k.method, k.tool, k.upstream);
  }
};
struct series_equal {
  using is_transparent = void;
  template <typename A, typename B>
  bool operator()(const A& a, const B& b) const {
    return std::string_view(a.method) == std::string_view(b.method) &&
           std::string_view(a.tool) == std::string_view(b.tool) &&
           std::string_view(a.upstream) == std::string_view(b.upstream);
  }
};

using series_map =
    std::unordered_map<series_key, std::unique_ptr<call_series>, series_hash, series_equal>;

}  // namespace

std::string_view to_string(call_outcome outcome) {
  switch (outcome) {
    case call_outcome::ok: return "ok";
    case call_outcome::jsonrpc_error: return "jsonrpc_error";
    case call_outcome::is_error: return "is_error";
    case call_outcome::timeout: return "timeout";
    case call_outcome::refused_by_policy: return "refused_by_policy";
    case call_outcome::rate_limited: return "rate_limited";
    case call_outcome::cancelled: return "cancelled";
  }
  return "ok";
}

std::string_view to_string(transport t) {
  switch (t) {
    case transport::stdio: return "stdio";
    case transport::streamable_http: return "streamable_http";
    case transport::sse: return "sse";
    case transport::websocket: return "websocket";
  }
  return "stdio";
}

std::string_view method_label(std::string_view method) {
  for (const auto known : known_methods) {
    if (known == method) return known;
  }
  return other;
}

struct call_series::families {
  Family<Histogram>* server_duration = nullptr;
  Family<Histogram>* client_duration = nullptr;
  Family<Counter>* calls = nullptr;
  Family<Counter>* errors = nullptr;
};

call_series::call_series(const families* f, std::string method, std::string tool,
                         std::string upstream, bool server_side)
    : families_(f),
      method_(std::move(method)),
      tool_(std::move(tool)),
      upstream_(std::move(upstream)),
      server_side_(server_side) {}

prometheus::Histogram& call_series::histogram(call_outcome outcome) {
  const auto i = static_cast<std::size_t>(outcome);
  if (duration_[i] == nullptr) {
    const std::string o(to_string(outcome));
    auto* family = server_side_ ? families_->server_duration : families_->client_duration;
    duration_[i] = &family->Add(
        {{"method", method_}, {"tool", tool_}, {"upstream", upstream_}, {"outcome", o}},
        boundaries(operation_buckets));
    if (server_side_) {
      calls_[i] = &families_->calls->Add(
          {{"method", method_}, {"tool", tool_}, {"upstream", upstream_}, {"outcome", o}});
      if (outcome != call_outcome::ok) {
        errors_[i] = &families_->errors->Add(
            {{"method", method_}, {"tool", tool_}, {"upstream", upstream_}, {"kind", o}});
      }
    }
  }
  return *duration_[i];
}

void call_series::observe(call_outcome outcome, std::chrono::nanoseconds duration) {
  observe_seconds(outcome, seconds_of(duration));
}

void call_series::observe_seconds(call_outcome outcome, double seconds) {
  histogram(outcome).Observe(seconds);
  const auto i = static_cast<std::size_t>(outcome);
  if (calls_[i] != nullptr) calls_[i]->Increment();
  if (errors_[i] != nullptr) errors_[i]->Increment();
}

void upstream_series::set_state(std::string_view state) {
  for (std::size_t i = 0; i < states.size(); ++i) state_[i]->Set(states[i] == state ? 1.0 : 0.0);
}
void upstream_series::restarted() { restarts_->Increment(); }
void upstream_series::call_started() { in_flight_->Increment(); }
void upstream_series::call_finished() { in_flight_->Decrement(); }
std::uint64_t upstream_series::restarts() const { return static_cast<std::uint64_t>(restarts_->Value()); }
std::uint64_t upstream_series::in_flight() const {
  const auto n = in_flight_->Value();
  return n > 0 ? static_cast<std::uint64_t>(n) : 0;
}
void upstream_series::health_probe(std::chrono::nanoseconds latency) {
  probe_->Observe(seconds_of(latency));
}
void upstream_series::bytes_received(std::size_t n) { received_->Increment(static_cast<double>(n)); }
void upstream_series::bytes_sent(std::size_t n) { sent_->Increment(static_cast<double>(n)); }

struct metrics::impl {
  metrics_options options;
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  call_series::families call_families;

  Family<Gauge>* upstream_state = nullptr;
  Family<Counter>* upstream_restarts = nullptr;
  Family<Gauge>* upstream_in_flight = nullptr;
  Family<Histogram>* upstream_probe = nullptr;
  Family<Counter>* upstream_received = nullptr;
  Family<Counter>* upstream_sent = nullptr;

  std::array<Gauge*, transport_count> sessions_open{};
  std::array<Counter*, transport_count> sessions_total{};
  std::array<Histogram*, transport_count> session_duration{};
  std::array<Gauge*, transport_count> sse_open{};
  Family<Counter>* http_responses = nullptr;
  std::array<Counter*, 500> http_by_code{};  // 100..599

  std::array<Gauge*, 4> catalog_entries{};  // tool, prompt, resource, resource_template
  Gauge* catalog_hidden = nullptr;
  Gauge* catalog_collisions = nullptr;
  Counter* catalog_rebuilds = nullptr;

  Counter* spans_exported = nullptr;
  Family<Counter>* spans_dropped = nullptr;
  Counter* tap_lost = nullptr;

  std::unordered_set<std::string, string_hash, std::equal_to<>> tools;
  std::unordered_set<std::string, string_hash, std::equal_to<>> upstream_names;
  series_map server_series;
  series_map client_series;
  std::unordered_map<std::string, std::unique_ptr<upstream_series>, string_hash, std::equal_to<>>
      upstreams;
  process_collector process;

  explicit impl(metrics_options o) : options(std::move(o)) { build(); }

  void build();
  std::string_view upstream_label(std::string_view name);
  call_series& series(series_map& map, bool server_side, std::string_view method,
                      std::string_view tool_label, std::string_view upstream);
};

void metrics::impl::build() {
  auto& r = *registry;
  call_families.server_duration =
      &prometheus::BuildHistogram()
           .Name("mcp_server_operation_duration_seconds")
           .Help("MCP requests from hosts, from receipt to the reply written (OTel "
                 "mcp.server.operation.duration)")
           .Register(r);
  call_families.client_duration =
      &prometheus::BuildHistogram()
           .Name("mcp_client_operation_duration_seconds")
           .Help("MCP requests to upstreams, from sending to the reply (OTel "
                 "mcp.client.operation.duration)")
           .Register(r);
  call_families.calls = &prometheus::BuildCounter()
                             .Name("manifold_calls_total")
                             .Help("Requests from hosts, by outcome")
                             .Register(r);
  call_families.errors = &prometheus::BuildCounter()
                              .Name("manifold_call_errors_total")
                              .Help("Requests from hosts that failed, by kind")
                              .Register(r);

  upstream_state = &prometheus::BuildGauge()
                        .Name("manifold_upstream_state")
                        .Help("1 for the upstream's current state, 0 for the others")
                        .Register(r);
  upstream_restarts = &prometheus::BuildCounter()
                           .Name("manifold_upstream_restarts_total")
                           .Help("Times the upstream was restarted")
                           .Register(r);
  upstream_in_flight = &prometheus::BuildGauge()
                            .Name("manifold_upstream_in_flight")
                            .Help("Requests sent to the upstream and not yet answered")
                            .Register(r);
  upstream_probe = &prometheus::BuildHistogram()
                        .Name("manifold_upstream_health_probe_duration_seconds")
                        .Help("Latency of the upstream's health probes")
                        .Register(r);
  upstream_received = &prometheus::BuildCounter()
                           .Name("manifold_upstream_received_bytes_total")
                           .Help("Bytes read from the upstream")
                           .Register(r);
  upstream_sent = &prometheus::BuildCounter()
                       .Name("manifold_upstream_sent_bytes_total")
                       .Help("Bytes written to the upstream")
                       .Register(r);

  auto& open = prometheus::BuildGauge()
                   .Name("manifold_sessions_open")
                   .Help("Host sessions open now, by transport")
                   .Register(r);
  auto& total = prometheus::BuildCounter()
                    .Name("manifold_sessions_total")
                    .Help("Host sessions opened, by transport")
                    .Register(r);
  auto& lifetime = prometheus::BuildHistogram()
                       .Name("mcp_server_session_duration_seconds")
                       .Help("Lifetime of host sessions (OTel mcp.server.session.duration)")
                       .Register(r);
  auto& sse = prometheus::BuildGauge()
                  .Name("manifold_sse_streams_open")
                  .Help("SSE streams open to hosts now, by transport")
                  .Register(r);
  for (std::size_t i = 0; i < transport_count; ++i) {
    const std::string t(to_string(static_cast<transport>(i)));
    sessions_open[i] = &open.Add({{"transport", t}});
    sessions_total[i] = &total.Add({{"transport", t}});
    session_duration[i] = &lifetime.Add({{"transport", t}}, boundaries(session_buckets));
    if (i == static_cast<std::size_t>(transport::streamable_http) ||
        i == static_cast<std::size_t>(transport::sse)) {
      sse_open[i] = &sse.Add({{"transport", t}});
    }
  }
  http_responses = &prometheus::BuildCounter()
                        .Name("manifold_http_responses_total")
                        .Help("HTTP responses of the listener, by status code and class")
                        .Register(r);

  auto& entries = prometheus::BuildGauge()
                      .Name("manifold_catalog_entries")
                      .Help("Entries the catalog exposes, by kind")
                      .Register(r);
  const std::array<const char*, 4> kinds{"tool", "prompt", "resource", "resource_template"};
  for (std::size_t i = 0; i < kinds.size(); ++i) catalog_entries[i] = &entries.Add({{"kind", kinds[i]}});
  catalog_hidden = &prometheus::BuildGauge()
                        .Name("manifold_catalog_hidden")
                        .Help("Upstream entries hidden by filters, groups or pins")
                        .Register(r)
                        .Add({});
  catalog_collisions = &prometheus::BuildGauge()
                            .Name("manifold_catalog_collisions")
                            .Help("Exposed names two upstreams claimed in the current catalog")
                            .Register(r)
                            .Add({});
  catalog_rebuilds = &prometheus::BuildCounter()
                          .Name("manifold_catalog_rebuilds_total")
                          .Help("Catalogs built (start, list_changed, restart, reload)")
                          .Register(r)
                          .Add({});

  spans_exported = &prometheus::BuildCounter()
                        .Name("manifold_trace_spans_exported_total")
                        .Help("Spans the OTLP collector accepted")
                        .Register(r)
                        .Add({});
  spans_dropped = &prometheus::BuildCounter()
                       .Name("manifold_trace_spans_dropped_total")
                       .Help("Spans dropped: queue_full (the collector is slow or down), "
                             "export_failed (a batch the collector did not accept)")
                       .Register(r);
  tap_lost = &prometheus::BuildCounter()
                  .Name("manifold_tap_records_lost_total")
                  .Help("Traffic tap records slow subscribers lost")
                  .Register(r)
                  .Add({});
  prometheus::BuildGauge()
      .Name("manifold_build_info")
      .Help("Always 1; the version label says which manifold this is")
      .Register(r)
      .Add({{"version", options.version}})
      .Set(1);
}

std::string_view metrics::impl::upstream_label(std::string_view name) {
  if (name.empty()) return name;
  auto it = upstream_names.find(name);
  if (it != upstream_names.end()) return *it;
  if (upstream_names.size() >= options.max_upstreams) return other;
  return *upstream_names.emplace(name).first;
}

call_series& metrics::impl::series(series_map& map, bool server_side, std::string_view method,
                                   std::string_view label, std::string_view upstream) {
  const series_key_view key{method_label(method), label, upstream_label(upstream)};
  auto it = map.find(key);
  if (it != map.end()) return *it->second;
  series_key owned{std::string(key.method), std::string(key.tool), std::string(key.upstream)};
  if (map.size() >= options.max_label_sets) {
    // Past the cap, everything of this method shares one series.
    owned.tool = std::string(other);
    owned.upstream = std::string(other);
    auto overflow = map.find(owned);
    if (overflow != map.end()) return *overflow->second;
  }
  auto series = std::unique_ptr<call_series>(
      new call_series(&call_families, owned.method, owned.tool, owned.upstream, server_side));
  auto& out = *series;
  map.emplace(std::move(owned), std::move(series));
  return out;
}

metrics::metrics(metrics_options options) : impl_(std::make_unique<impl>(std::move(options))) {}
metrics::~metrics() = default;

void metrics::set_exposed_tools(const std::vector<std::string>& names) {
  impl_->tools.clear();
  for (const auto& n : names) {
    if (impl_->tools.size() >= impl_->options.max_tool_labels) break;
    if (!n.empty()) impl_->tools.insert(n);
  }
}

std::string_view metrics::tool_label(std::string_view tool) const {
  if (tool.empty()) return tool;
  auto it = impl_->tools.find(tool);
  return it == impl_->tools.end() ? other : std::string_view(*it);
}

call_series& metrics::server_call(std::string_view method, std::string_view tool,
                                  std::string_view upstream) {
  return impl_->series(impl_->server_series, true, method, tool_label(tool), upstream);
}

call_series& metrics::client_call(std::string_view method, std::string_view tool,
                                  std::string_view upstream) {
  return impl_->series(impl_->client_series, false, method, tool_label(tool), upstream);
}

upstream_series& metrics::upstream(std::string_view name) {
  const auto label = impl_->upstream_label(name);
  auto it = impl_->upstreams.find(label);
  if (it != impl_->upstreams.end()) return *it->second;
  auto s = std::unique_ptr<upstream_series>(new upstream_series());
  const std::string u(label);
  for (std::size_t i = 0; i < upstream_series::states.size(); ++i) {
    s->state_[i] =
        &impl_->upstream_state->Add({{"upstream", u}, {"state", std::string(upstream_series::states[i])}});
  }
  s->restarts_ = &impl_->upstream_restarts->Add({{"upstream", u}});
  s->in_flight_ = &impl_->upstream_in_flight->Add({{"upstream", u}});
  s->probe_ = &impl_->upstream_probe->Add({{"upstream", u}}, boundaries(probe_buckets));
  s->received_ = &impl_->upstream_received->Add({{"upstream", u}});
  s->sent_ = &impl_->upstream_sent->Add({{"upstream", u}});
  auto& out = *s;
  impl_->upstreams.emplace(u, std::move(s));
  return out;
}

void metrics::session_opened(transport t) {
  const auto i = static_cast<std::size_t>(t);
  impl_->sessions_open[i]->Increment();
  impl_->sessions_total[i]->Increment();
}

void metrics::session_closed(transport t, std::chrono::nanoseconds lifetime) {
  const auto i = static_cast<std::size_t>(t);
  impl_->sessions_open[i]->Decrement();
  impl_->session_duration[i]->Observe(seconds_of(lifetime));
}

void metrics::http_response(int status) {
  if (status < 100 || status > 599) return;
  auto& slot = impl_->http_by_code[static_cast<std::size_t>(status - 100)];
  if (slot == nullptr) {
    slot = &impl_->http_responses->Add(
        {{"code", std::to_string(status)}, {"class", std::to_string(status / 100) + "xx"}});
  }
  slot->Increment();
}

void metrics::sse_stream_opened(transport t) {
  if (auto* g = impl_->sse_open[static_cast<std::size_t>(t)]) g->Increment();
}

void metrics::sse_stream_closed(transport t) {
  if (auto* g = impl_->sse_open[static_cast<std::size_t>(t)]) g->Decrement();
}

void metrics::catalog_rebuilt(const catalog_counts& counts) {
  impl_->catalog_entries[0]->Set(static_cast<double>(counts.tools));
  impl_->catalog_entries[1]->Set(static_cast<double>(counts.prompts));
  impl_->catalog_entries[2]->Set(static_cast<double>(counts.resources));
  impl_->catalog_entries[3]->Set(static_cast<double>(counts.resource_templates));
  impl_->catalog_hidden->Set(static_cast<double>(counts.hidden_by_policy));
  impl_->catalog_collisions->Set(static_cast<double>(counts.collisions));
  impl_->catalog_rebuilds->Increment();
}

void metrics::spans_exported(std::size_t n) {
  impl_->spans_exported->Increment(static_cast<double>(n));
}

void metrics::spans_dropped(std::string_view reason, std::size_t n) {
  const std::string r(reason == "queue_full" ? "queue_full" : "export_failed");
  impl_->spans_dropped->Add({{"reason", r}}).Increment(static_cast<double>(n));
}

void metrics::tap_records_lost(std::size_t n) { impl_->tap_lost->Increment(static_cast<double>(n)); }

std::string metrics::serialize() const {
  auto families = impl_->registry->Collect();
  if (impl_->options.process_metrics) {
    auto process = impl_->process.Collect();
    families.insert(families.end(), std::make_move_iterator(process.begin()),
                    std::make_move_iterator(process.end()));
  }
  return prometheus::TextSerializer().Serialize(families);
}

std::shared_ptr<prometheus::Registry> metrics::registry() const { return impl_->registry; }

}  // namespace manifold::observe
