#include "commands.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/url/parse.hpp>
#include <algorithm>
#include <csignal>
#include <filesystem>
#include <map>
#include <set>
#include <fstream>
#include <cstdio>
#include <iostream>
#include <spdlog/spdlog.h>

#include "manifold/gateway/gateway.hpp"
#include "manifold/gateway/catalog_report.hpp"
#include "manifold/gateway/observability.hpp"
#include "manifold/observe/json_log.hpp"
#include "manifold/gateway/reloader.hpp"
#include "manifold/gateway/pinning.hpp"
#include "manifold/config/config_error.hpp"
#include "manifold/config/config_loader.hpp"
#include "manifold/config/units.hpp"
#include "manifold/namespace/uri_rewrite.hpp"
#include "manifold/protocol/extensions.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/io/hosts.hpp"
#include "manifold/io/http_client.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/proxy/admin.hpp"
#include "manifold/proxy/http_server.hpp"
#include "manifold/proxy/local_client.hpp"
#include "manifold/proxy/relay.hpp"
#include "manifold/proxy/stdio_listener.hpp"

namespace manifold::app {

namespace asio = boost::asio;
using std::chrono::milliseconds;
using json = nlohmann::json;

namespace {

// Children get stdin EOF, SIGTERM, then SIGKILL within this budget: hosts kill their servers
// quickly, and no child may outlive manifold.
constexpr milliseconds shutdown_budget{1800};

std::optional<config::config> load(const std::string& path) {
  try {
    return config::load_config_file(path);
  } catch (const config::config_error& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.to_string() << '\n';
    return std::nullopt;
  }
}

// Runs `main` on a single-threaded io_context; exceptions escaping it are logged.
template <typename Main>
void run_on_io(asio::io_context& io, Main main) {
  asio::co_spawn(io, std::move(main), [&io](const std::exception_ptr& e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        spdlog::critical("fatal: {}", ex.what());
      }
    }
    io.stop();
  });
  io.run();
}

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

}  // namespace

int run_check(const std::string& config_path) {
  const auto cfg = load(config_path);
  if (!cfg) return exit_bad_config;
  std::cout << config_path << ": OK, " << cfg->servers.size() << " server"
            << (cfg->servers.size() == 1 ? "" : "s") << '\n';
  return exit_ok;
}

namespace {

// What manifold declares to upstreams when no single host's capabilities can be mirrored
// (HTTP serves many hosts; `catalog` serves none), so that they offer everything a capable
// host could use; a request a given host cannot take is refused to the upstream per host.
// Roots are left out: they describe one host's workspace, and a server shared by many hosts
// (the filesystem server narrows itself to the client's roots) must not take one host's.
// MCP Apps are declared: a server may then offer its app tools, which every host can call
// (their results carry text for hosts that render no UI) and app-capable hosts render.
json shared_host_capabilities() {
  return {{"sampling", json::object()},
          {"elicitation", {{"form", json::object()}, {"url", json::object()}}},
          {"extensions",
           {{std::string(protocol::ui_extension), {{"mimeTypes", json::array({std::string(protocol::ui_mime_type)})}}}}}};
}

// The longest a host request can take: the slowest upstream's deadline, and a margin.
milliseconds longest_request(const config::config& cfg) {
  milliseconds out{0};
  for (const auto& s : cfg.servers) out = std::max(out, s.timeout);
  return out + std::chrono::seconds(5);
}

// The access layer of one config: who is calling (authenticator) and what they may do
// (call gate: roles, rules, limits, audit, forwarded identity).
struct access_parts {
  std::unique_ptr<access::authenticator> auth;
  std::unique_ptr<access::call_gate> gate;
  std::shared_ptr<bool> stop_refresh = std::make_shared<bool>(false);

  access_parts() = default;
  access_parts(access_parts&&) = default;
  access_parts& operator=(access_parts&&) = default;
  ~access_parts() { *stop_refresh = true; }

  // stdio has no headers: its session is the configured stdio identity.
  [[nodiscard]] proxy::session_identity stdio_identity() const {
    proxy::session_identity out;
    out.who = std::make_shared<const access::principal>(auth->stdio_principal());
    out.roles = gate->view_for(*out.who);
    return out;
  }
};

// GETs a JWKS document (https; plain http only on loopback), bounded in time and size.
access::jwks_cache::fetch_fn jwks_fetcher(asio::any_io_executor executor) {
  return [executor](std::string url, milliseconds deadline) -> asio::awaitable<std::optional<std::string>> {
    const auto parsed = boost::urls::parse_uri(url);
    if (!parsed) co_return std::nullopt;
    io::http_request request;
    request.method = "GET";
    request.tls = parsed->scheme() == "https";
    request.host = std::string(parsed->encoded_host());
    if (!request.tls && !io::is_loopback_host(request.host)) {
      spdlog::error("auth.jwt.jwks_url {} must be https (plain http only on loopback)", url);
      co_return std::nullopt;
    }
    request.port = parsed->has_port() ? std::string(parsed->port()) : (request.tls ? "443" : "80");
    request.target = parsed->encoded_path().empty() ? "/" : std::string(parsed->encoded_path());
    if (parsed->has_query()) request.target += "?" + std::string(parsed->encoded_query());
    request.headers.emplace_back("Accept", "application/json");
    request.timeout = deadline;
    request.read_limit = 1024 * 1024;
    auto response = co_await io::send_request(executor, std::move(request));
    if (!response.error.empty() || response.status != 200) {
      spdlog::warn("auth: fetching the JWKS at {} failed: {}", url,
                   response.error.empty() ? "HTTP " + std::to_string(response.status) : response.error);
      co_return std::nullopt;
    }
    co_return std::move(response.body);
  };
}

// Keeps the JWT key set fresh (jwt.jwks_refresh_interval) while the server runs.
asio::awaitable<void> refresh_keys(access::jwks_cache* keys, milliseconds every, std::shared_ptr<bool> stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  while (!*stop) {
    co_await keys->refresh();
    timer.expires_after(every);
    co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

access_parts make_access(const config::config& cfg, asio::any_io_executor executor) {
  access_parts out;
  access::authenticator::options options;
  options.fetch = jwks_fetcher(executor);
  out.auth = std::make_unique<access::authenticator>(cfg.auth, std::move(options));
  if (auto* keys = out.auth->keys()) {
    asio::co_spawn(executor, refresh_keys(keys, cfg.auth.jwt.jwks_refresh_interval, out.stop_refresh),
                   io::log_failure("JWKS refresh"));
  }
  out.gate = std::make_unique<access::call_gate>(cfg);
  if (out.auth->enabled()) {
    spdlog::info("auth: {} API key{}{}; unauthenticated requests are refused", cfg.auth.api_keys.size(),
                 cfg.auth.api_keys.size() == 1 ? "" : "s", cfg.auth.jwt.configured() ? " and JWTs" : "");
  }
  return out;
}

proxy::relay_options relay_options_for(const config::config& cfg) {
  proxy::relay_options out;
  out.max_message_bytes = cfg.limits.max_message_bytes;
  out.page_size = cfg.limits.page_size;
  out.tool_cap = cfg.naming.tool_cap;
  out.meta_tools = cfg.naming.meta_tools;
  out.max_in_flight = cfg.limits.max_in_flight;
  out.max_queued_bytes = cfg.limits.max_queued_bytes;
  out.drain_timeout = longest_request(cfg);
  return out;
}

proxy::group_view group_of(const config::group_config& g) {
  return {g.name, std::make_shared<ns::name_filter>(g.include, g.exclude)};
}

std::optional<proxy::group_view> group_named(const config::config& cfg, const std::string& name) {
  for (const auto& g : cfg.groups) {
    if (g.name == name) return group_of(g);
  }
  return std::nullopt;
}

// The ring of http.sessions; null when sessions are not sealed.
std::shared_ptr<const proxy::key_ring> session_keys_of(const config::http_config::sessions_config& sessions) {
  if (!sessions.enabled()) return nullptr;
  std::vector<proxy::session_key> keys;
  for (const auto& k : sessions.keys) keys.push_back({k.id, k.secret});
  return std::make_shared<const proxy::key_ring>(std::move(keys));
}

// "ADDRESS:PORT" ("[v6]:PORT") -> address and port; nullopt when malformed.
std::optional<std::pair<std::string, std::uint16_t>> split_listen(const std::string& listen) {
  const auto colon = listen.rfind(':');
  if (colon == std::string::npos) return std::nullopt;
  auto address = listen.substr(0, colon);
  if (address.size() > 2 && address.front() == '[') address = address.substr(1, address.size() - 2);
  try {
    const auto port = std::stoul(listen.substr(colon + 1));
    if (port > 65535) return std::nullopt;
    return std::make_pair(std::move(address), static_cast<std::uint16_t>(port));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

std::optional<proxy::http_options> http_options_for(const config::config& cfg, std::string listen) {
  proxy::http_options out;
  const auto split = split_listen(listen);
  if (!split) return std::nullopt;
  out.address = split->first;
  out.port = split->second;
  out.allowed_origins = cfg.http.allowed_origins;
  out.allowed_hosts = cfg.http.allowed_hosts;
  out.max_body_bytes = cfg.limits.max_message_bytes;
  out.max_header_bytes = cfg.http.max_header_bytes;
  out.max_sessions = cfg.http.max_sessions;
  out.session_idle_timeout = cfg.http.session_idle_timeout;
  out.read_timeout = cfg.http.read_timeout;
  out.tls_cert = cfg.http.tls.cert;
  out.tls_key = cfg.http.tls.key;
  out.tls_client_ca = cfg.http.tls.client_ca;
  out.replay_events = cfg.http.replay_events;
  out.session_keys = session_keys_of(cfg.http.sessions);
  out.session_max_lifetime = cfg.http.sessions.max_lifetime;
  out.ended_sessions = cfg.http.sessions.ended_sessions;
  out.advertise = cfg.http.sessions.advertise;
  out.session_peers = cfg.http.sessions.peers;
  out.client_limits = {cfg.limits.max_queued_bytes, cfg.limits.write_timeout};
  out.max_request_time = longest_request(cfg);
  for (const auto& g : cfg.groups) out.groups.push_back(group_of(g));
  return out;
}

// Written whole (rename) so that a reader never sees half a number.
void write_port_file(const std::string& path, std::uint16_t port) {
  const auto tmp = path + ".tmp";
  std::ofstream(tmp) << port << '\n';
  std::filesystem::rename(tmp, path);
}

// Spans still queued get this long to reach the collector at shutdown.
constexpr milliseconds spans_flush_budget{2000};

// The config's observability, with the command line's overrides; null (logged) when it
// cannot be set up.
std::unique_ptr<gateway::observability> make_observability(asio::any_io_executor executor, const config::config& cfg,
                                                           const serve_options& options) {
  try {
    return std::make_unique<gateway::observability>(executor, cfg, gateway::observability::settings{options.trace_file});
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return nullptr;
  }
}

// SIGUSR1: every upstream's state, restarts, breaker and last error in the log (stdio has no
// /readyz). Lives as long as the serve function that owns it.
class status_signal {
 public:
  status_signal(asio::io_context& io, const gateway::backend& backend) : signals_(io, SIGUSR1), backend_(backend) {
    wait();
  }
  void cancel() {
    boost::system::error_code ignored;
    signals_.cancel(ignored);
  }

 private:
  void wait() {
    signals_.async_wait([this](const boost::system::error_code& ec, int) {
      if (ec) return;
      const auto status = backend_.status();
      for (const auto& u : status["upstreams"]) spdlog::info("status: {}", u.dump());
      wait();
    });
  }

  asio::signal_set signals_;
  const gateway::backend& backend_;
};

int run_serve_http(const config::config& cfg, const serve_options& options, const std::string& listen) {
  const auto http = http_options_for(cfg, listen);
  if (!http) {
    std::cerr << "--listen must be ADDRESS:PORT, such as 127.0.0.1:8080, not `" << listen << "`\n";
    return exit_bad_config;
  }
  asio::io_context io(1);
  // Before the backend and the relay: they record into it until they are gone.
  auto observed = make_observability(io.get_executor(), cfg, options);
  if (!observed) return exit_failure;
  gateway::backend backend(io.get_executor(), cfg);
  observed->attach(backend);
  auto access = make_access(cfg, io.get_executor());
  auto relay_options = relay_options_for(cfg);
  relay_options.gate = access.gate.get();
  relay_options.telemetry = observed->telemetry();
  auto relay = proxy::make_relay(io.get_executor(), backend, relay_options);
  backend.attach(relay.get());
  if (std::any_of(cfg.servers.begin(), cfg.servers.end(),
                  [](const auto& s) { return s.oauth.grant == config::oauth_grant::token_exchange; })) {
    access.auth->keep_subject_tokens(true);
    backend.set_subject_tokens([auth = access.auth.get()](std::string_view who) { return auth->subject_token(who); });
  }
  auto listener = *http;
  listener.auth = access.auth.get();
  listener.gate = access.gate.get();
  listener.admin = &observed->endpoints();
  std::unique_ptr<proxy::http_server> server;
  try {
    server = proxy::make_http_server(io.get_executor(), *relay, backend, std::move(listener));
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return exit_failure;
  }
  spdlog::info("manifold serving {} upstream{} over HTTP on {}:{} (/mcp, /sse, /ws, /healthz, /readyz{}{}{})",
               cfg.servers.size(), cfg.servers.size() == 1 ? "" : "s", http->address, server->port(),
               cfg.metrics.enabled ? ", /metrics" : "", cfg.ui.enabled ? ", /ui" : "",
               cfg.tap.enabled ? ", /admin/tap" : "");
  if (!options.port_file.empty()) write_port_file(options.port_file, server->port());
  // The first SIGTERM (or SIGINT) drains: no new connections, requests in flight answered
  // within lifecycle.drain_timeout; a second one stops at once.
  asio::signal_set signals(io, SIGINT, SIGTERM);
  io::event drained;
  bool draining = false;
  const auto drain_deadline = std::make_shared<std::chrono::steady_clock::time_point>();
  std::function<void()> wait_signal = [&] {
    signals.async_wait([&](const boost::system::error_code& ec, int signo) {
      if (ec) return;
      if (draining) {
        spdlog::warn("signal {} received again; stopping now", signo);
        server->stop();
        return;
      }
      draining = true;
      *drain_deadline = std::chrono::steady_clock::now() + cfg.lifecycle.drain_timeout;
      spdlog::info("signal {} received; draining for up to {} ms (again: stop now)", signo,
                   cfg.lifecycle.drain_timeout.count());
      asio::co_spawn(io, [&]() -> asio::awaitable<void> {
        co_await server->drain(*drain_deadline);
        drained.set();
      }, io::log_failure("drain"));
      wait_signal();
    });
  };
  wait_signal();
  backend.on_refused([&] { server->stop(); });
  status_signal status_dump(io, backend);
  gateway::reloader reloads(io.get_executor(), backend, options.config_path);
  reloads.set_faults_file(options.faults_path);
  reloads.on_loaded([&server, tls = cfg.http.tls, sessions = cfg.http.sessions](const config::config& next) mutable {
    if (next.http.sessions != sessions) {
      auto restart = next.http.sessions;
      restart.keys = sessions.keys;
      restart.keys_file = sessions.keys_file;
      if (restart != sessions) {
        spdlog::warn("reload: http.sessions max_lifetime, ended_sessions, advertise and peers take effect at the next start");
      }
      if (next.http.sessions.keys != sessions.keys) server->set_session_keys(session_keys_of(next.http.sessions));
      sessions.keys = next.http.sessions.keys;
      sessions.keys_file = next.http.sessions.keys_file;
    }
    // Re-read on every reload (SIGHUP too): a certificate renewed in place at the same path is
    // picked up without a restart.
    if (!next.http.tls.enabled()) return;
    if (auto error = server->set_tls(next.http.tls.cert, next.http.tls.key, next.http.tls.client_ca); !error.empty()) {
      spdlog::error("reload: {}; the current certificate stays", error);
    } else {
      tls = next.http.tls;
    }
  });
  reloads.start();
  observed->start();
  run_on_io(io, [&]() -> asio::awaitable<void> {
    asio::co_spawn(io, backend.ensure_started(shared_host_capabilities(), backend.start_deadline()),
                   asio::detached);
    co_await server->run();
    if (draining) co_await drained.wait_until(*drain_deadline + std::chrono::seconds(1));
    reloads.stop();
    co_await backend.stop(shutdown_budget);
    co_await observed->stop(std::chrono::steady_clock::now() + spans_flush_budget);
    signals.cancel();
    status_dump.cancel();
    spdlog::info("manifold stopped");
  });
  return backend.refused() ? exit_bad_config : exit_ok;
}

}  // namespace

int run_import(const std::string& path) {
  try {
    // Variables stay references: an import must not bake secrets from this shell into a file.
    const auto cfg = config::load_config_file(path, [](const std::string& name) {
      return std::optional<std::string>("${" + name + "}");
    });
    std::cout << config::to_yaml(cfg);
    return exit_ok;
  } catch (const config::config_error& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.to_string() << '\n';
    return exit_bad_config;
  }
}

int run_serve(const serve_options& options) {
  auto cfg = load(options.config_path);
  if (!cfg) return exit_bad_config;
  const bool json_logs = options.log_format.empty() ? cfg->logs.format == config::log_format::json
                                                    : options.log_format == "json";
  if (json_logs) observe::set_log_format(*spdlog::default_logger(), observe::log_format::json);
  if (!options.faults_path.empty()) {
    try {
      auto extra = config::load_faults_file(options.faults_path);
      cfg->faults.insert(cfg->faults.end(), extra.begin(), extra.end());
    } catch (const config::config_error& e) {
      for (const auto& d : e.diagnostics()) std::cerr << d.to_string() << '\n';
      return exit_bad_config;
    }
  }
  if (!options.initialize_grace.empty()) {
    const auto grace = options.initialize_grace == "0" ? std::optional<milliseconds>(0)
                                                        : config::parse_duration(options.initialize_grace);
    if (!grace) {
      std::cerr << "--initialize-grace must be a duration such as 500ms or 10s, not `" << options.initialize_grace
                << "`\n";
      return exit_bad_config;
    }
    cfg->lifecycle.initialize_grace = *grace;
  }
  if (!cfg->faults.empty()) {
    spdlog::warn("faults: {} rule{} injecting failures on purpose (a drill)", cfg->faults.size(),
                 cfg->faults.size() == 1 ? "" : "s");
  }
  const auto listen = options.listen.empty() ? cfg->http.listen : options.listen;
  if (!listen.empty()) return run_serve_http(*cfg, options, listen);

  asio::io_context io(1);
  std::shared_ptr<protocol::channel> host_link;
  try {
    host_link = proxy::open_stdio_link(io.get_executor(), cfg->limits.max_message_bytes,
                                       {cfg->limits.max_queued_bytes, cfg->limits.write_timeout});
  } catch (const std::exception& e) {
    spdlog::critical("{}", e.what());
    return exit_failure;
  }
  auto observed = make_observability(io.get_executor(), *cfg, options);
  if (!observed) return exit_failure;
  gateway::backend backend(io.get_executor(), *cfg);
  observed->attach(backend);
  auto access = make_access(*cfg, io.get_executor());
  auto relay_options = relay_options_for(*cfg);
  relay_options.gate = access.gate.get();
  relay_options.telemetry = observed->telemetry();
  auto relay = proxy::make_relay(io.get_executor(), backend, relay_options);
  backend.attach(relay.get());
  // --metrics-listen (metrics.listen): the admin endpoints beside stdio.
  std::unique_ptr<proxy::admin_server> admin;
  const auto metrics_listen = options.metrics_listen.empty() ? cfg->metrics.listen : options.metrics_listen;
  if (!metrics_listen.empty()) {
    const auto split = split_listen(metrics_listen);
    if (!split) {
      std::cerr << "--metrics-listen must be ADDRESS:PORT, such as 127.0.0.1:9464, not `" << metrics_listen << "`\n";
      return exit_bad_config;
    }
    proxy::admin_listen_options listen_options;
    listen_options.address = split->first;
    listen_options.port = split->second;
    listen_options.allowed_hosts = cfg->http.allowed_hosts;
    listen_options.allowed_origins = cfg->http.allowed_origins;
    listen_options.auth = access.auth->enabled() ? access.auth.get() : nullptr;
    try {
      admin = proxy::make_admin_server(io.get_executor(), std::move(listen_options), observed->endpoints());
    } catch (const std::exception& e) {
      spdlog::critical("{}", e.what());
      return exit_failure;
    }
    spdlog::info("admin endpoints on {}:{} (/metrics{}{})", split->first, admin->port(),
                 cfg->ui.enabled ? ", /ui" : "", cfg->tap.enabled ? ", /admin/tap" : "");
    if (!options.port_file.empty()) write_port_file(options.port_file, admin->port());
  }
  proxy::group_view view;
  if (!options.group.empty()) {
    const auto found = group_named(*cfg, options.group);
    if (!found) {
      std::cerr << options.config_path << ": no group named `" << options.group << "` (groups:)\n";
      return exit_bad_config;
    }
    view = *found;
  }
  auto session = relay->open_session(host_link, view, access.stdio_identity());
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& ec, int signo) {
    if (ec) return;
    spdlog::info("signal {} received; shutting down", signo);
    session->stop();
  });
  backend.on_refused([&] { session->stop(); });
  status_signal status_dump(io, backend);
  gateway::reloader reloads(io.get_executor(), backend, options.config_path);
  reloads.set_faults_file(options.faults_path);
  reloads.start();
  observed->start();

  spdlog::info("manifold serving {} upstream{} on stdio", cfg->servers.size(),
               cfg->servers.size() == 1 ? "" : "s");
  run_on_io(io, [&]() -> asio::awaitable<void> {
    // Children start now; their handshake waits for the host's capabilities (initialize).
    asio::co_spawn(io, backend.launch(), asio::detached);
    if (admin) asio::co_spawn(io, admin->run(), io::log_failure("admin listener"));
    auto* counters = observed->telemetry()->metrics;
    const auto opened = std::chrono::steady_clock::now();
    if (counters != nullptr) counters->session_opened(observe::transport::stdio);
    co_await session->run();
    if (counters != nullptr) counters->session_closed(observe::transport::stdio, std::chrono::steady_clock::now() - opened);
    if (admin) admin->stop();
    reloads.stop();
    co_await host_link->flush(std::chrono::steady_clock::now() + milliseconds(500));
    co_await backend.stop(shutdown_budget);
    co_await observed->stop(std::chrono::steady_clock::now() + spans_flush_budget);
    signals.cancel();
    spdlog::info("manifold stopped");
  });
  return backend.refused() ? exit_bad_config : exit_ok;
}

namespace {

// How `manifold call` answers an upstream's elicitation, with no person to ask.
protocol::rpc_reply answer_elicitation(const call_options& options, const protocol::message& msg) {
  if (msg.method() != "elicitation/create") {
    return protocol::rpc_reply::failure(protocol::error_code::method_not_found,
                                        "manifold call cannot answer " + std::string(msg.method()));
  }
  if (options.elicitation != "accept-defaults") {
    return protocol::rpc_reply{json{{"action", "decline"}}, std::nullopt};
  }
  json content = json::object();
  const auto params = msg.params();
  const auto* schema = protocol::object_member(params, "requestedSchema");
  const auto* properties = schema != nullptr ? protocol::object_member(*schema, "properties") : nullptr;
  if (properties != nullptr) {
    for (const auto& [name, property] : properties->items()) {
      if (const auto* fallback = protocol::member(property, "default")) content[name] = *fallback;
    }
  }
  return protocol::rpc_reply{json{{"action", "accept"}, {"content", std::move(content)}}, std::nullopt};
}

}  // namespace

// The call goes through a host session of manifold's own, exactly the path a host's call
// takes (group, argument rules, hidden arguments, limits).
int run_call(const call_options& options) {
  const auto args = protocol::parse_json(options.args);
  if (!args.ok() || !args.value.is_object()) {
    std::cerr << "--args must be a JSON object, not `" << options.args << "`\n";
    return exit_bad_config;
  }
  config::config cfg;
  if (!options.config_path.empty()) {
    auto loaded = load(options.config_path);
    if (!loaded) return exit_bad_config;
    cfg = std::move(*loaded);
  } else {
    // The running server is this command's only upstream, under its own names.
    config::server_config server;
    server.name = "target";
    server.namespace_ = "target";
    server.url = options.url;
    server.transport = config::transport_kind::automatic;
    cfg.naming.prefix = config::prefix_mode::never;
    cfg.servers.push_back(server);
  }
  proxy::group_view group;
  if (!options.group.empty()) {
    const auto found = group_named(cfg, options.group);
    if (!found) {
      std::cerr << options.config_path << ": no group named `" << options.group << "` (groups:)\n";
      return exit_bad_config;
    }
    group = *found;
  }
  asio::io_context io(1);
  gateway::backend backend(io.get_executor(), cfg);
  backend.wait_for_all();  // one call: its upstream must have had its chance to start
  auto access = make_access(cfg, io.get_executor());
  auto relay_options = relay_options_for(cfg);
  relay_options.gate = access.gate.get();
  auto relay = proxy::make_relay(io.get_executor(), backend, relay_options);
  backend.attach(relay.get());
  json out = json::object();
  bool failed = true;
  run_on_io(io, [&]() -> asio::awaitable<void> {
    proxy::local_client host(io.get_executor(), *relay, group, access.stdio_identity(),
                             [&options](const protocol::message& msg) { return answer_elicitation(options, msg); });
    // Elicitation is declared: call answers it by the --elicitation policy.
    json capabilities{{"elicitation", json::object()}};
    const auto started = co_await host.initialize(std::move(capabilities), backend.start_deadline());
    if (!started.ok()) {
      out["error"] = started.error->to_json();
    } else {
      json params{{"name", options.tool}, {"arguments", args.value}};
      const auto deadline = std::chrono::steady_clock::now() + relay_options_for(cfg).drain_timeout;
      auto reply = co_await host.request("tools/call", std::move(params), deadline);
      if (reply.ok()) {
        failed = protocol::bool_member(reply.result, "isError").value_or(false);
        out["result"] = std::move(reply.result);
      } else {
        out["error"] = reply.error->to_json();
      }
    }
    co_await host.close();
    co_await backend.stop(shutdown_budget);
  });
  std::cout << out.dump(2) << '\n';
  if (backend.refused()) return exit_bad_config;
  return failed ? exit_failure : exit_ok;
}

namespace {

// Starts the upstreams of `cfg`, builds the catalog, stops them again.
struct built_catalog {
  std::shared_ptr<const ns::catalog> catalog;
  json status;
  bool refused = false;
  bool upstream_failed = false;
};

built_catalog build_once(const config::config& cfg) {
  asio::io_context io(1);
  gateway::backend backend(io.get_executor(), cfg);
  backend.wait_for_all();  // a report: every upstream's first start counts, not the grace period
  run_on_io(io, [&]() -> asio::awaitable<void> {
    co_await backend.ensure_started(shared_host_capabilities(), backend.start_deadline());
    co_await backend.stop(shutdown_budget);
  });
  built_catalog out{backend.snapshot(), backend.status(), backend.refused(), false};
  for (const auto& u : backend.upstreams().all()) out.upstream_failed |= !u->problem().empty();
  return out;
}

constexpr std::array<ns::entry_kind, 4> kinds{ns::entry_kind::tool, ns::entry_kind::prompt,
                                              ns::entry_kind::resource,
                                              ns::entry_kind::resource_template};

// Everything the catalog knows about `name` (exposed or original), as lines of text.
std::vector<std::string> explain(const ns::catalog& c, const std::string& name) {
  std::vector<std::string> story;
  for (const auto kind : kinds) {
    for (const auto& e : c.entries(kind)) {
      if (e.name != name && e.original != name) continue;
      story.push_back(std::string(ns::to_string(kind)) + " `" + e.name + "` is exposed: `" +
                      e.original + "` of upstream [" + e.server + "]");
      for (const auto& d : e.decisions) story.push_back("  - " + d);
      if (e.decisions.empty()) story.push_back("  - passed through unchanged");
    }
  }
  for (const auto& col : c.collisions()) {
    if (col.exposed_name != name && col.dropped_original != name && col.kept_original != name) continue;
    story.push_back("collision on " + std::string(ns::to_string(col.kind)) + " `" + col.exposed_name +
                    "`: [" + col.kept_server + "] `" + col.kept_original + "` keeps it, [" +
                    col.dropped_server + "] `" + col.dropped_original + "` is left out (" + col.rule + ")");
  }
  for (const auto& f : c.filtered()) {
    if (f.original != name) continue;
    story.push_back(std::string(ns::to_string(f.kind)) + " `" + f.original + "` of upstream [" +
                    f.server + "] is hidden by " + f.rule);
  }
  return story;
}

}  // namespace

namespace {

// name -> {server, original, definition} of every exposed tool of a catalog, from a config
// (started and listed) or from a saved `catalog --format json`.
std::optional<std::map<std::string, json>> tools_of(const std::string& path) {
  std::ifstream in(path);
  const auto saved = json::parse(in, nullptr, false);
  std::map<std::string, json> out;
  if (saved.is_object() && saved.contains("tools") && saved["tools"].is_array() &&
      saved.contains("upstreams")) {
    for (const auto& t : saved["tools"]) out[t.value("name", "")] = t;
    return out;
  }
  const auto cfg = load(path);
  if (!cfg) return std::nullopt;
  const auto built = build_once(*cfg);
  for (const auto& t : built.catalog->tools()) {
    out[t.name] = {{"name", t.name}, {"server", t.server}, {"original", t.original}, {"definition", t.definition}};
  }
  return out;
}

}  // namespace

int run_diff(const diff_options& options) {
  const auto now = tools_of(options.config_path);
  const auto before = tools_of(options.against);
  if (!now || !before) return exit_bad_config;
  json report{{"added", json::array()}, {"removed", json::array()}, {"renamed", json::array()},
              {"changed", json::array()}};
  const auto origin = [](const json& t) { return t.value("server", "") + "/" + t.value("original", ""); };
  std::map<std::string, std::string> before_by_origin;
  for (const auto& [name, t] : *before) before_by_origin[origin(t)] = name;
  std::set<std::string> renamed_from;
  for (const auto& [name, t] : *now) {
    const auto it = before->find(name);
    if (it == before->end()) {
      const auto old = before_by_origin.find(origin(t));
      if (old != before_by_origin.end() && now->count(old->second) == 0) {
        report["renamed"].push_back({{"from", old->second}, {"to", name}, {"origin", origin(t)}});
        renamed_from.insert(old->second);
      } else {
        report["added"].push_back({{"name", name}, {"origin", origin(t)}});
      }
      continue;
    }
    json fields = json::array();
    for (const char* field : {"description", "title", "inputSchema", "outputSchema", "annotations"}) {
      const auto a = it->second["definition"].value(field, json());
      const auto b = t["definition"].value(field, json());
      if (a != b) fields.push_back(field);
    }
    if (!fields.empty()) report["changed"].push_back({{"name", name}, {"fields", fields}});
  }
  for (const auto& [name, t] : *before) {
    if (now->count(name) == 0 && renamed_from.count(name) == 0) {
      report["removed"].push_back({{"name", name}, {"origin", origin(t)}});
    }
  }
  const bool differ = !report["added"].empty() || !report["removed"].empty() ||
                      !report["renamed"].empty() || !report["changed"].empty();
  if (options.format == "json") {
    std::cout << report.dump(2) << '\n';
  } else {
    for (const auto& a : report["added"]) std::cout << "+ " << a["name"].get<std::string>() << "  (" << a["origin"].get<std::string>() << ")\n";
    for (const auto& r : report["removed"]) std::cout << "- " << r["name"].get<std::string>() << "  (" << r["origin"].get<std::string>() << ")\n";
    for (const auto& r : report["renamed"]) {
      std::cout << "~ " << r["from"].get<std::string>() << " -> " << r["to"].get<std::string>() << '\n';
    }
    for (const auto& c : report["changed"]) {
      std::cout << "* " << c["name"].get<std::string>() << ": " << c["fields"].dump() << " changed\n";
    }
    if (!differ) std::cout << "no differences\n";
  }
  return differ ? exit_failure : exit_ok;
}

int run_pin(const std::string& config_path, const std::string& lock_path) {
  auto cfg = load(config_path);
  if (!cfg) return exit_bad_config;
  auto path = lock_path;
  if (path.empty()) path = cfg->pinning.lock;
  if (path.empty()) {
    const auto slash = config_path.rfind('/');
    path = (slash == std::string::npos ? std::string() : config_path.substr(0, slash + 1)) + "manifold.lock.json";
  }
  cfg->pinning.lock.clear();  // pin what the upstreams offer now, not what an old lock allows
  const auto built = build_once(*cfg);
  if (built.refused) return exit_bad_config;
  const auto lock = gateway::make_lock(*built.catalog);
  const auto tmp = path + ".tmp";
  std::ofstream(tmp) << lock.dump(2) << '\n';
  std::filesystem::rename(tmp, path);
  std::cout << "pinned " << built.catalog->tools().size() << " tools in " << path << '\n';
  return built.upstream_failed ? exit_failure : exit_ok;
}

int run_collisions(const catalog_options& options) {
  const auto cfg = load(options.config_path);
  if (!cfg) return exit_bad_config;
  const auto built = build_once(*cfg);
  const auto& c = *built.catalog;
  if (options.format == "json") {
    std::cout << gateway::catalog_report(c, built.status["upstreams"]).dump(2) << '\n';
  } else {
    std::size_t width = 12;
    for (const auto kind : kinds) {
      for (const auto& e : c.entries(kind)) width = std::max(width, e.name.size());
    }
    std::cout << pad("EXPOSED NAME", width) << "  KIND               ORIGIN  ->  DECISIONS\n";
    for (const auto kind : kinds) {
      for (const auto& e : c.entries(kind)) {
        std::string decisions;
        for (const auto& d : e.decisions) decisions += (decisions.empty() ? "" : "; ") + d;
        std::cout << pad(e.name, width) << "  " << pad(std::string(ns::to_string(kind)), 17) << "  ["
                  << e.server << "] " << e.original << "  ->  "
                  << (decisions.empty() ? "unchanged" : decisions) << '\n';
      }
    }
    for (const auto& col : c.collisions()) {
      std::cout << "collision (" << ns::to_string(col.kind) << "): " << col.exposed_name << ": ["
                << col.kept_server << "] " << col.kept_original << " kept, [" << col.dropped_server
                << "] " << col.dropped_original << " left out (" << col.rule << ")\n";
    }
    for (const auto& f : c.filtered()) {
      std::cout << "hidden (" << ns::to_string(f.kind) << "): [" << f.server << "] " << f.original
                << " by " << f.rule << '\n';
    }
    for (const auto& r : c.rejected()) std::cout << "rejected: [" << r.server << "] " << r.reason << '\n';
  }
  if (built.refused) return exit_bad_config;
  return built.upstream_failed ? exit_failure : exit_ok;
}

int run_catalog(const catalog_options& options) {
  const auto cfg = load(options.config_path);
  if (!cfg) return exit_bad_config;
  const auto built = build_once(*cfg);
  if (!options.explain.empty()) {
    auto story = explain(*built.catalog, options.explain);
    // Tools an exec server's self-check hid (the binary's version, what the credentials allow).
    for (const auto& u : built.status["upstreams"]) {
      const auto server = protocol::string_or(u, "name", "");
      const auto* hidden = protocol::member(u, "hidden");
      if (hidden == nullptr || !hidden->is_array()) continue;
      for (const auto& h : *hidden) {
        const auto tool = protocol::string_or(h, "tool", "");
        const auto& name = options.explain;
        const bool named = !tool.empty() && (name == tool || (name.size() > tool.size() + server.size() &&
                                                               name.rfind(server, 0) == 0 &&
                                                               name.compare(name.size() - tool.size(), tool.size(), tool) == 0));
        if (!named) continue;
        story.push_back("tool `" + tool + "` of upstream [" + server + "] is hidden by its self-check: " +
                        protocol::string_or(h, "reason", "no reason given"));
      }
    }
    if (story.empty()) {
      std::cout << "`" << options.explain << "` is offered by no upstream that started";
      for (const auto& u : built.status["upstreams"]) {
        if (u.contains("problem")) std::cout << "; [" << u.value("name", "") << "] failed: " << u.value("problem", "");
      }
      std::cout << '\n';
      return exit_failure;
    }
    for (const auto& line : story) std::cout << line << '\n';
    return built.catalog->find_tool(options.explain) || built.catalog->find_prompt(options.explain)
               ? exit_ok
               : exit_failure;
  }

  if (built.refused) return exit_bad_config;
  const auto catalog = built.catalog;
  if (options.format == "json") {
    json out{{"tools", json::array()},     {"prompts", json::array()},
             {"resources", json::array()}, {"resourceTemplates", json::array()},
             {"collisions", json::array()}, {"upstreams", json::array()}};
    for (const auto& t : catalog->tools()) {
      out["tools"].push_back({{"name", t.name},
                              {"server", t.server},
                              {"original", t.original},
                              {"definition", t.definition}});
    }
    for (const auto& p : catalog->prompts()) {
      out["prompts"].push_back({{"name", p.name}, {"server", p.server}, {"original", p.original}});
    }
    for (const auto& r : catalog->resources()) {
      out["resources"].push_back({{"uri", r.name}, {"server", r.server}, {"original", r.original}});
    }
    for (const auto& r : catalog->resource_templates()) {
      out["resourceTemplates"].push_back(
          {{"uriTemplate", r.name}, {"server", r.server}, {"original", r.original}});
    }
    for (const auto& c : catalog->collisions()) {
      out["collisions"].push_back({{"kind", ns::to_string(c.kind)},
                                   {"name", c.exposed_name},
                                   {"kept", {{"server", c.kept_server}, {"original", c.kept_original}}},
                                   {"dropped", {{"server", c.dropped_server}, {"original", c.dropped_original}}},
                                   {"rule", c.rule}});
    }
    out["upstreams"] = built.status["upstreams"];
    std::cout << out.dump(2) << '\n';
  } else {
    std::size_t w_name = 12;
    std::size_t w_server = 6;
    for (const auto& t : catalog->tools()) {
      w_name = std::max(w_name, t.name.size());
      w_server = std::max(w_server, t.server.size());
    }
    std::cout << pad("EXPOSED NAME", w_name) << "  " << pad("SERVER", w_server) << "  ORIGINAL\n";
    for (const auto& t : catalog->tools()) {
      std::cout << pad(t.name, w_name) << "  " << pad(t.server, w_server) << "  "
                << t.original << '\n';
    }
    std::cout << '\n' << catalog->tools().size() << " tools, " << catalog->prompts().size()
              << " prompts, " << catalog->resources().size() << " resources, "
              << catalog->resource_templates().size() << " resource templates\n";
    for (const auto& c : catalog->collisions()) {
      std::cout << "collision (" << ns::to_string(c.kind) << "): " << c.exposed_name << ": [" << c.kept_server << "] "
                << c.kept_original << " kept, [" << c.dropped_server << "] " << c.dropped_original
                << " left out (" << c.rule << ")\n";
    }
    for (const auto& u : built.status["upstreams"]) {
      if (u.contains("problem")) {
        std::cout << "upstream " << u.value("name", "") << ": " << u.value("problem", "") << '\n';
      }
    }
  }
  return built.upstream_failed ? exit_failure : exit_ok;
}

}  // namespace manifold::app
