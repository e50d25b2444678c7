#include "manifold/gateway/observability.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <vector>

#include "manifold/access/redactor.hpp"
#include "manifold/gateway/catalog_report.hpp"
#include "manifold/gateway/gateway.hpp"
#include "manifold/io/event.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/observe/otlp_exporter.hpp"
#include "manifold/observe/status_page.hpp"
#include "manifold/version.hpp"

namespace manifold::gateway {

namespace asio = boost::asio;
using protocol::json;
using clock = std::chrono::steady_clock;

namespace {

constexpr std::chrono::seconds status_poll{1};  // how often an open page's status is compared
constexpr std::size_t latency_window = 50;      // recent calls per upstream behind its latency

std::string transport_of(const config::server_config& s) {
  if (s.exec) return "exec";
  if (s.url.empty()) return "stdio";
  switch (s.transport) {
    case config::transport_kind::sse:
      return "sse";
    case config::transport_kind::websocket:
      return "websocket";
    default:
      return "http";
  }
}

// What the tap applies to every message before anyone sees it: observe::redact_secrets
// (secret-looking keys, Bearer/Basic credentials, long strings cut), then access::redactor's
// text rules (credential patterns, the config's audit.redact patterns, the config's own
// secrets) on strings that may hold one. The regular expressions are the expensive part:
// without configured patterns they run only on strings that contain a hint of a credential.
class tap_redaction {
 public:
  explicit tap_redaction(const config::config& cfg) : rules_(cfg.audit.redact), patterns_(!cfg.audit.redact.empty()) {
    const auto secret = [this](const std::string& value) {
      if (value.size() < 8) return;
      rules_.add_secret(value);
      secrets_ = true;
    };
    secret(cfg.identity_signing_key);
    secret(cfg.auth.jwt.hs256_secret);
    for (const auto& s : cfg.servers) {
      for (const auto& [name, value] : s.headers) secret(value);
      for (const auto& [name, value] : s.env) secret(value);
      secret(s.oauth.client_secret);
    }
  }

  [[nodiscard]] json operator()(const json& message) const {
    auto out = observe::redact_secrets(message);
    strings(out);
    return out;
  }

 private:
  void strings(json& value) const {
    if (value.is_string()) {
      auto& text = value.get_ref<std::string&>();
      if (patterns_ || may_hold_credential(text)) {
        text = rules_.redact_text(text);
      } else if (secrets_) {
        text = rules_.scrub_text(text);
      }
    } else if (value.is_structured()) {
      for (auto& item : value) strings(item);
    }
  }

  // The hints of redactor's built-in patterns (PEM, Bearer/Basic, JWT, AWS key ids, API
  // token prefixes, key=value with a secret name), case-folded.
  static bool may_hold_credential(std::string_view text) {
    static constexpr std::array<std::string_view, 15> hints{"-----begin", "bearer", "basic", "eyj", "akia", "asia",
                                                             "mfd", "sk", "gh", "xox", "pass", "pwd", "secret",
                                                             "token", "key"};
    std::string folded(text);
    for (auto& c : folded) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    return std::any_of(hints.begin(), hints.end(),
                       [&](std::string_view h) { return folded.find(h) != std::string::npos; });
  }

  access::redactor rules_;
  bool patterns_;
  bool secrets_ = false;
};

}  // namespace

struct observability::parts {
  asio::any_io_executor executor;
  std::uint64_t started_unix_ms = observe::unix_nanos_now() / 1'000'000;
  std::unique_ptr<observe::metrics> metrics;
  std::unique_ptr<observe::otlp_exporter> exporter;
  std::unique_ptr<observe::tracer> tracer;
  std::unique_ptr<observe::tap> tap;
  std::unique_ptr<observe::recent_calls> calls;
  std::unique_ptr<observe::status_feed> feed;
  backend* source = nullptr;
  std::set<std::string> upstream_names;  // every upstream that had a state series
  // The page's status watcher.
  std::shared_ptr<bool> stopped = std::make_shared<bool>(false);
  std::shared_ptr<asio::steady_timer> timer;
  io::event watcher_done;
  bool watching = false;

  // What open pages last heard (status_fingerprint), so that they hear only changes.
  std::string last_status;
  // Per upstream: the instance whose supervision restarts were last counted, and how many.
  std::map<std::string, std::pair<const void*, std::uint64_t>, std::less<>> restarts_seen;

  // Upstream states into manifold_upstream_state (an upstream a reload removed: all 0), and
  // supervision's restarts into manifold_upstream_restarts_total.
  void sync_states() {
    if (metrics == nullptr || source == nullptr) return;
    std::set<std::string> now;
    for (const auto& u : source->upstreams().all()) {
      auto& series = metrics->upstream(u->name());
      series.set_state(upstream::to_string(u->state()));
      auto& [instance, counted] = restarts_seen[u->name()];
      if (instance != u.get()) {
        instance = u.get();
        counted = 0;
      }
      for (const auto restarts = u->supervision().restarts; counted < restarts; ++counted) series.restarted();
      now.insert(u->name());
      upstream_names.insert(u->name());
    }
    for (const auto& name : upstream_names) {
      if (now.count(name) == 0) metrics->upstream(name).set_state("");
    }
  }
};

observability::observability(asio::any_io_executor executor, const config::config& cfg, settings extra)
    : parts_(std::make_unique<parts>()) {
  auto& p = *parts_;
  p.executor = executor;
  if (cfg.metrics.enabled) {
    observe::metrics_options options;
    options.max_tool_labels = cfg.metrics.max_tool_labels;
    options.version = manifold::version;
    p.metrics = std::make_unique<observe::metrics>(options);
  }
  if (cfg.tracing.exporting()) {
    observe::otlp_options options;
    options.endpoint = cfg.tracing.otlp_endpoint;
    options.headers = cfg.tracing.headers;
    options.batch_size = cfg.tracing.batch_size;
    options.batch_interval = cfg.tracing.batch_interval;
    options.queue_size = cfg.tracing.queue_size;
    options.timeout = cfg.tracing.timeout;
    options.resource.service_version = manifold::version;
    options.resource.instance_id = std::to_string(::getpid());
    try {
      p.exporter = std::make_unique<observe::otlp_exporter>(executor, std::move(options), p.metrics.get());
    } catch (const std::invalid_argument& e) {
      throw std::runtime_error(std::string("tracing.otlp_endpoint: ") + e.what());
    }
    p.tracer = std::make_unique<observe::tracer>(cfg.tracing.sample_ratio, p.exporter.get());
  }
  const auto trace_file = extra.trace_file.empty() ? cfg.tap.file : extra.trace_file;
  if (cfg.tap.enabled || !trace_file.empty()) {
    observe::tap_options options;
    options.counters = p.metrics.get();
    options.redact = [r = std::make_shared<const tap_redaction>(cfg)](const json& message) { return (*r)(message); };
    p.tap = std::make_unique<observe::tap>(std::move(options));
    if (!trace_file.empty()) {
      p.tap->set_file_sink(std::make_shared<observe::tap_file_sink>(trace_file, cfg.tap.max_file_size, cfg.tap.files));
      spdlog::info("tap: writing the traffic to {}", trace_file);
    }
  }
  if (cfg.ui.enabled) {
    p.calls = std::make_unique<observe::recent_calls>();
    p.feed = std::make_unique<observe::status_feed>();
  }
  telemetry_.metrics = p.metrics.get();
  telemetry_.tracer = p.tracer.get();
  telemetry_.tap = p.tap.get();
  telemetry_.calls = p.calls.get();
  telemetry_.feed = p.feed.get();
  endpoints_.telemetry = &telemetry_;
  endpoints_.tap_buffer = cfg.tap.buffer;
  if (cfg.tap.enabled) endpoints_.tap = p.tap.get();
}

observability::~observability() = default;

void observability::attach(backend& b) {
  auto& p = *parts_;
  p.source = &b;
  b.observe(&telemetry_);
  if (p.metrics != nullptr) {
    endpoints_.metrics = [&p] {
      p.sync_states();
      return p.metrics->serialize();
    };
  }
  if (p.feed != nullptr) {
    telemetry_.status_changed = [this] { publish_status(); };
    endpoints_.ui = true;
    endpoints_.status = [this] { return status_json(); };
    endpoints_.catalog = [this] { return catalog_json(); };
    endpoints_.calls = [&p] { return p.calls->to_json(); };
    endpoints_.events = p.feed.get();
  }
}

namespace {

// What the page's status says about the upstreams, to notice a change.
std::string status_fingerprint(const backend& b) {
  std::string out = b.ready() ? "1" : "0";
  out += std::to_string(b.generation());
  for (const auto& u : b.upstreams().all()) {
    out += '\x1f' + u->name() + '\x1e' + std::string(upstream::to_string(u->state())) + '\x1e' + u->problem() +
           '\x1e' + std::to_string(u->supervision().restarts);
  }
  return out;
}

// While the listener runs: each second, the status to open pages when it changed (a state
// change also sends it at once: telemetry::status_changed).
asio::awaitable<void> watch_status(observability* self, std::shared_ptr<asio::steady_timer> timer,
                                   std::shared_ptr<bool> stopped, io::event* done) {
  while (!*stopped) {
    timer->expires_after(status_poll);
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (*stopped) break;
    self->publish_status();
  }
  done->set();
}

}  // namespace

void observability::start() {
  auto& p = *parts_;
  if (p.exporter != nullptr) p.exporter->start();
  if (p.feed != nullptr && p.source != nullptr && !p.watching) {
    p.watching = true;
    p.timer = std::make_shared<asio::steady_timer>(p.executor);
    asio::co_spawn(p.executor, watch_status(this, p.timer, p.stopped, &p.watcher_done),
                   io::log_failure("status watcher"));
  }
}

asio::awaitable<void> observability::stop(clock::time_point deadline) {
  auto& p = *parts_;
  *p.stopped = true;
  if (p.timer) p.timer->cancel();
  if (p.watching) co_await p.watcher_done.wait_until(deadline);
  if (p.exporter != nullptr) co_await p.exporter->stop(deadline);
}

void observability::publish_status() {
  auto& p = *parts_;
  if (p.feed == nullptr || p.source == nullptr) return;
  if (!p.feed->has_subscribers()) {
    p.last_status.clear();  // a page that opens gets the status with its first event anyway
    return;
  }
  auto now = status_fingerprint(*p.source);
  if (now == p.last_status) return;
  p.last_status = std::move(now);
  p.feed->publish("status", status_json().dump(-1, ' ', false, json::error_handler_t::replace));
}

json observability::status_json() const {
  const auto& p = *parts_;
  observe::status_snapshot s;
  s.version = manifold::version;
  s.started_unix_ms = p.started_unix_ms;
  if (p.calls != nullptr) {
    s.calls_total = p.calls->total();
    s.calls_failed = p.calls->failed();
  }
  if (p.source == nullptr) return observe::to_json(s);
  const auto& b = *p.source;
  s.ready = b.ready();
  const auto catalog = b.snapshot();
  s.catalog.tools = catalog->tools().size();
  s.catalog.prompts = catalog->prompts().size();
  s.catalog.resources = catalog->resources().size();
  s.catalog.resource_templates = catalog->resource_templates().size();
  s.catalog.hidden_by_policy = catalog->filtered().size();
  s.catalog.collisions = catalog->collisions().size();
  s.catalog_rebuilds = b.generation();
  // Each upstream's latency: the median of its newest calls.
  std::map<std::string, std::vector<double>, std::less<>> latencies;
  if (p.calls != nullptr) {
    for (const auto& c : p.calls->newest_first()) {
      auto& l = latencies[c.upstream];
      if (!c.upstream.empty() && l.size() < latency_window && c.outcome != observe::call_outcome::timeout) {
        l.push_back(c.latency_ms);
      }
    }
  }
  const auto& servers = b.settings().servers;
  for (const auto& u : b.upstreams().all()) {
    observe::upstream_status out;
    out.name = u->name();
    out.state = std::string(upstream::to_string(u->state()));
    for (const auto& cfg : servers) {
      if (cfg.name == u->name()) out.transport = transport_of(cfg);
    }
    const auto supervision = u->supervision();
    out.restarts = supervision.restarts;
    out.in_flight = supervision.in_flight;
    if (supervision.probe_latency_ms) {
      out.latency_ms = supervision.probe_latency_ms;  // the last health probe
    } else if (auto it = latencies.find(u->name()); it != latencies.end() && !it->second.empty()) {
      auto& l = it->second;  // else the median of its recent calls
      std::nth_element(l.begin(), l.begin() + static_cast<std::ptrdiff_t>(l.size() / 2), l.end());
      out.latency_ms = l[l.size() / 2];
    }
    out.last_error = !u->problem().empty() ? u->problem() : supervision.last_error;
    out.protocol_version = u->info().protocol_version;
    out.tools = static_cast<std::size_t>(std::count_if(catalog->tools().begin(), catalog->tools().end(),
                                                       [&](const auto& t) { return t.server == u->name(); }));
    s.upstreams.push_back(std::move(out));
  }
  return observe::to_json(s);
}

json observability::catalog_json() const {
  const auto& p = *parts_;
  if (p.source == nullptr) return json::object();
  const auto& b = *p.source;
  auto status = status_json();
  story_sources sources;
  sources.cfg = &b.settings();
  if (!b.pin_lock().is_null()) sources.lock = &b.pin_lock();
  return catalog_report(*b.snapshot(), std::move(status["upstreams"]), sources);
}

}  // namespace manifold::gateway
