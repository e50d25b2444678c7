// `manifold drill`: a scripted failure against a config's upstreams, and what a host saw.
// The upstreams run in this process's manifold (the same supervision, catalog and relay as
// `serve`); a host session of its own calls one tool per upstream while each upstream in turn
// is crashed, stalled, slowed or made flaky.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <iostream>
#include <map>

#include "commands.hpp"
#include "manifold/config/config_error.hpp"
#include "manifold/config/config_loader.hpp"
#include "manifold/gateway/gateway.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/text.hpp"
#include "manifold/proxy/local_client.hpp"
#include "manifold/proxy/relay.hpp"

namespace manifold::app {

namespace asio = boost::asio;
using json = nlohmann::json;
using std::chrono::milliseconds;
using clock = std::chrono::steady_clock;

namespace {

constexpr milliseconds pace{20};  // between a drill's calls to one upstream

struct scenario_info {
  std::string_view name;
  std::string_view what;
};
constexpr std::array<scenario_info, 4> scenarios{{
    {"crash-each",
     "kill each upstream in turn (SIGKILL, or a dropped connection) while calling it; time until "
     "it answers again"},
    {"hang-each",
     "stall each upstream's stream for --duration in turn while calling it; time until it answers "
     "again"},
    {"slow", "add --duration of latency to every call of each upstream in turn"},
    {"flaky", "answer half of each upstream's calls with a JSON-RPC error, in turn"},
}};

// The tool a drill calls on one upstream.
struct target {
  std::shared_ptr<upstream::supervised_upstream> upstream;
  std::string tool;  // exposed name; empty: none is safe to call
};

struct row {
  std::string upstream;
  std::string tool;
  std::size_t calls = 0;
  std::size_t ok = 0;
  std::map<std::string, std::size_t> errors;  // what the host saw, by kind
  std::vector<double> latencies;
  std::optional<double> recovery_ms;
  std::uint64_t restarts = 0;
  std::uint64_t retried = 0;  // calls manifold sent again after the link broke under them
  std::string note;
};

// What the host saw, in a few words: "-32000 temporarily unavailable".
std::string label_of(const protocol::rpc_error& e) {
  const auto& m = e.message;
  std::string what;
  if (m.find("temporarily unavailable") != std::string::npos) {
    what =
        m.find("circuit breaker") != std::string::npos ? "breaker open" : "temporarily unavailable";
  } else if (m.find("outcome is unknown") != std::string::npos) {
    what = "broken in flight, outcome unknown";
  } else if (m.rfind("Unknown tool", 0) == 0) {
    what = "tool withdrawn while down";
  } else if (e.code == protocol::error_code::request_timeout) {
    what = "timeout";
  } else {
    what = protocol::log_safe(m.substr(0, 48), 60);
  }
  return std::to_string(e.code) + " " + what;
}

// The upstream answered (a result, or an error of its own): its tools are callable.
bool callable(const protocol::rpc_reply& r) {
  if (r.ok()) return true;
  const auto code = r.error->code;
  if (code == protocol::error_code::connection_closed ||
      code == protocol::error_code::request_timeout)
    return false;
  return r.error->message.rfind("Unknown tool", 0) != 0;
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double round3(double v) { return std::round(v * 1000) / 1000; }

class drill {
 public:
  drill(const drill_options& options, const config::config& cfg, gateway::backend& backend,
        proxy::relay& relay, asio::io_context& io)
      : options_(options),
        cfg_(cfg),
        backend_(backend),
        io_(io),
        host_(io.get_executor(), relay, {}, {}, [](const protocol::message&) {
          return protocol::rpc_reply::failure(protocol::error_code::method_not_found,
                                              "a drill answers no requests");
        }) {}

  asio::awaitable<void> run() {
    const auto started =
        co_await host_.initialize(json::object(), clock::now() + std::chrono::seconds(120));
    if (!started.ok()) {
      error_ = "initialize failed: " + started.error->message;
      co_await host_.close();
      co_return;
    }
    for (auto& t : pick_targets()) {
      if (options_.scenario == "crash-each" || options_.scenario == "hang-each") {
        co_await outage(t);
      } else {
        co_await faulty(t);
      }
    }
    co_await host_.close();
  }

  [[nodiscard]] const std::vector<row>& rows() const { return rows_; }
  [[nodiscard]] const std::string& error() const { return error_; }

 private:
  std::vector<target> pick_targets() {
    std::map<std::string, std::string> chosen;
    for (const auto& c : options_.calls) {
      const auto eq = c.find('=');
      if (eq != std::string::npos) chosen[c.substr(0, eq)] = c.substr(eq + 1);
    }
    const auto catalog = backend_.snapshot();
    std::vector<target> out;
    for (const auto& u : backend_.upstreams().all()) {
      target t{u, {}};
      const auto wanted = chosen.find(u->name());
      for (const auto& tool : catalog->tools()) {
        if (tool.server != u->name()) continue;
        if (wanted != chosen.end()) {
          if (tool.name == wanted->second || tool.original == wanted->second) t.tool = tool.name;
        } else if (const auto* a = protocol::object_member(tool.definition, "annotations");
                   a != nullptr && protocol::bool_member(*a, "readOnlyHint").value_or(false)) {
          t.tool = tool.name;
        }
        if (!t.tool.empty()) break;
      }
      out.push_back(std::move(t));
    }
    return out;
  }

  asio::awaitable<protocol::rpc_reply> call(const target& t, row& r, clock::time_point deadline) {
    json params{{"name", t.tool}, {"arguments", json::object()}};
    const std::string method = "tools/call";
    const auto began = clock::now();
    auto reply = co_await host_.request(method, std::move(params), deadline);
    r.latencies.push_back(std::chrono::duration<double, std::milli>(clock::now() - began).count());
    ++r.calls;
    if (reply.ok()) {
      ++r.ok;
    } else {
      ++r.errors[label_of(*reply.error)];
    }
    co_return reply;
  }

  asio::awaitable<void> pause() {
    asio::steady_timer t(io_, pace);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  // crash-each / hang-each: the upstream goes down (or silent); the drill calls it until it
  // answers again after having been restarted (crash) or after the stall.
  asio::awaitable<void> outage(target& t) {
    row r;
    r.upstream = t.upstream->name();
    r.tool = t.tool.empty() ? "-" : t.tool;
    const auto per_call = t.upstream->settings().timeout + options_.duration;
    if (!upstream::is_serving(t.upstream->state())) {
      r.note = "not running before the drill (" +
               std::string(upstream::to_string(t.upstream->state())) + ")";
      rows_.push_back(std::move(r));
      co_return;
    }
    const bool crash = options_.scenario == "crash-each";
    const auto restarts_before = t.upstream->supervision().restarts;
    const auto retries_before = t.upstream->supervision().retries;
    const auto began = clock::now();
    const auto give_up = began + options_.recovery_timeout;
    t.upstream->inject(crash ? config::fault_action::crash : config::fault_action::stall,
                       options_.duration);
    while (clock::now() < give_up) {
      const bool restarted = t.upstream->supervision().restarts > restarts_before;
      if (t.tool.empty()) {
        // Nothing safe to call: recovery is the upstream serving again.
        if (upstream::is_serving(t.upstream->state()) && (!crash || restarted)) {
          r.recovery_ms = std::chrono::duration<double, std::milli>(clock::now() - began).count();
          break;
        }
      } else {
        const auto reply = co_await call(t, r, std::min(give_up, clock::now() + per_call));
        const bool back = crash ? t.upstream->supervision().restarts > restarts_before
                                : clock::now() - began >= options_.duration;
        if (callable(reply) && back) {
          r.recovery_ms = std::chrono::duration<double, std::milli>(clock::now() - began).count();
          break;
        }
      }
      co_await pause();
    }
    if (t.tool.empty())
      r.note = "no read-only tool to call (--call " + r.upstream + "=TOOL names one)";
    r.restarts = t.upstream->supervision().restarts - restarts_before;
    r.retried = t.upstream->supervision().retries - retries_before;
    if (!r.recovery_ms) {
      r.note = "did not recover within " + std::to_string(options_.recovery_timeout.count()) +
               " ms" + (r.note.empty() ? "" : "; " + r.note);
    }
    rows_.push_back(std::move(r));
  }

  // slow / flaky: a fault on every call (or half of them) for a few calls, then the
  // config's own faults again.
  asio::awaitable<void> faulty(target& t) {
    row r;
    r.upstream = t.upstream->name();
    r.tool = t.tool.empty() ? "-" : t.tool;
    if (t.tool.empty()) {
      r.note = "no read-only tool to call (--call " + r.upstream + "=TOOL names one)";
      rows_.push_back(std::move(r));
      co_return;
    }
    config::fault_rule rule;
    rule.server = t.upstream->name();
    rule.position.file = "manifold drill --scenario " + options_.scenario;
    if (options_.scenario == "slow") {
      rule.action = config::fault_action::delay;
      rule.delay = options_.duration;
      rule.every = 1;
    } else {
      rule.action = config::fault_action::error;
      rule.probability = 0.5;
      rule.message = "injected by manifold drill (flaky)";
    }
    std::vector<config::fault_rule> rules{rule};
    t.upstream->set_faults(rules);
    const std::size_t rounds = options_.scenario == "slow" ? 3 : 20;
    const auto per_call = t.upstream->settings().timeout + options_.duration;
    for (std::size_t i = 0; i < rounds; ++i) co_await call(t, r, clock::now() + per_call);
    std::vector<config::fault_rule> own;
    for (const auto& f : cfg_.faults) {
      if (upstream::glob_match(f.server, t.upstream->name())) own.push_back(f);
    }
    t.upstream->set_faults(own);
    r.restarts = t.upstream->supervision().restarts;
    rows_.push_back(std::move(r));
  }

  const drill_options& options_;
  const config::config& cfg_;
  gateway::backend& backend_;
  asio::io_context& io_;
  proxy::local_client host_;
  std::vector<row> rows_;
  std::string error_;
};

json to_json(const row& r) {
  json errors = json::object();
  for (const auto& [what, n] : r.errors) errors[what] = n;
  json out{{"upstream", r.upstream}, {"tool", r.tool},         {"calls", r.calls},    {"ok", r.ok},
           {"errors", errors},       {"restarts", r.restarts}, {"retried", r.retried}};
  out["latencyMs"] = r.latencies.empty() ? json(nullptr)
                                         : json{{"p50", round3(percentile(r.latencies, 0.5))},
                                                {"max", round3(percentile(r.latencies, 1.0))}};
  out["recoveryMs"] = r.recovery_ms ? json(round3(*r.recovery_ms)) : json(nullptr);
  if (!r.note.empty()) out["note"] = r.note;
  return out;
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string ms_text(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, ms < 10 ? "%.2f ms" : "%.0f ms", ms);
  return buf;
}

void print_table(const drill_options& options, const std::vector<row>& rows) {
  std::cout << "drill " << options.scenario << " on " << options.config_path << '\n';
  std::size_t wu = 8;
  std::size_t wt = 4;
  for (const auto& r : rows) {
    wu = std::max(wu, r.upstream.size());
    wt = std::max(wt, r.tool.size());
  }
  std::cout << pad("UPSTREAM", wu + 2) << pad("TOOL", wt + 2)
            << "CALLS  OK     RETRIED  RECOVERY    P50        MAX        HOST SAW\n";
  for (const auto& r : rows) {
    std::string saw;
    for (const auto& [what, n] : r.errors)
      saw += (saw.empty() ? "" : "; ") + what + " x" + std::to_string(n);
    if (saw.empty()) saw = "no errors";
    std::cout << pad(r.upstream, wu + 2) << pad(r.tool, wt + 2) << pad(std::to_string(r.calls), 7)
              << pad(std::to_string(r.ok), 7) << pad(std::to_string(r.retried), 9)
              << pad(r.recovery_ms ? ms_text(*r.recovery_ms) : "-", 12)
              << pad(r.latencies.empty() ? "-" : ms_text(percentile(r.latencies, 0.5)), 11)
              << pad(r.latencies.empty() ? "-" : ms_text(percentile(r.latencies, 1.0)), 11) << saw
              << '\n';
    if (!r.note.empty()) std::cout << "  " << r.upstream << ": " << r.note << '\n';
  }
}

}  // namespace

int run_drill(const drill_options& options) {
  if (options.scenario == "list") {
    for (const auto& s : scenarios) std::cout << pad(std::string(s.name), 12) << s.what << '\n';
    return exit_ok;
  }
  if (std::none_of(scenarios.begin(), scenarios.end(),
                   [&](const auto& s) { return s.name == options.scenario; })) {
    std::cerr << "no drill scenario `" << options.scenario
              << "` (crash-each, hang-each, slow, flaky; list: describe them)\n";
    return exit_bad_config;
  }
  config::config cfg;
  try {
    cfg = config::load_config_file(options.config_path);
  } catch (const config::config_error& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.to_string() << '\n';
    return exit_bad_config;
  }
  asio::io_context io(1);
  gateway::backend backend(io.get_executor(), cfg);
  backend.wait_for_all();
  proxy::relay_options relay_options;
  relay_options.max_message_bytes = cfg.limits.max_message_bytes;
  auto relay = proxy::make_relay(io.get_executor(), backend, relay_options);
  backend.attach(relay.get());
  std::vector<row> rows;
  std::string failure;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        drill d(options, cfg, backend, *relay, io);
        co_await d.run();
        rows = d.rows();
        failure = d.error();
        co_await backend.stop(milliseconds(1800));
      },
      [&io](const std::exception_ptr& e) {
        io::log_failure("drill")(e);
        io.stop();
      });
  io.run();
  if (!failure.empty()) {
    std::cerr << "drill " << options.scenario << ": " << failure << '\n';
    return exit_failure;
  }
  const bool outage = options.scenario == "crash-each" || options.scenario == "hang-each";
  bool passed = true;
  for (const auto& r : rows) passed = passed && (!outage || r.recovery_ms.has_value());
  if (options.format == "json") {
    json out{{"scenario", options.scenario},
             {"config", options.config_path},
             {"passed", passed},
             {"upstreams", json::array()}};
    for (const auto& r : rows) out["upstreams"].push_back(to_json(r));
    std::cout << out.dump(2) << '\n';
  } else {
    print_table(options, rows);
  }
  return passed ? exit_ok : exit_failure;
}

}  // namespace manifold::app
