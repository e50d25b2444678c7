#include "manifold/proxy/http_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>
#include <charconv>
#include <fcntl.h>
#include <set>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>

#include "admin_routes.hpp"
#include "http_channel.hpp"
#include "listening.hpp"
#include "portable_sessions.hpp"
#include "replica_link.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/modern.hpp"
#include "manifold/protocol/param_headers.hpp"
#include "manifold/protocol/protocol_version.hpp"
#include "manifold/protocol/text.hpp"
#include "manifold/io/wake_list.hpp"
#include "manifold/io/ws_channel.hpp"
#include "manifold/observe/trace.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace ssl = asio::ssl;
namespace error_code = protocol::error_code;
using tcp = asio::ip::tcp;
using protocol::json;
using request = http::request<http::string_body>;
using clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

constexpr std::chrono::seconds keepalive_interval{15};
// How long a keep-alive connection may wait for its next request (at least read_timeout).
constexpr std::chrono::seconds keepalive_idle{75};
constexpr std::chrono::milliseconds min_accept_backoff{10};
constexpr std::chrono::milliseconds max_accept_backoff{1000};
constexpr std::chrono::seconds accept_log_interval{10};
constexpr int max_shed_per_cycle = 1024;
constexpr std::chrono::milliseconds reconnect_delay{1000};
// A request whose reply comes within this window, with nothing before it, is answered with
// one JSON object (one write, no stream framing). Anything sent before the reply (progress,
// logging, a request to the host) turns the answer into an SSE stream at once, as does the
// window's end: a long call gets its priming event (resumability) and keepalives. Under load
// replies take longer than usual, so the window is not tight: falling back to streams then
// would only add work.
constexpr std::chrono::milliseconds quick_reply_window{1000};
using header_list = std::vector<std::pair<std::string, std::string>>;

// Requests answered with one JSON body; everything else may produce progress, logging or
// requests to the host before its reply, and is answered with an SSE stream.
bool answers_with_json(std::string_view method) {
  return method == "initialize" || method == "ping" || method == "tools/list" ||
         method == "prompts/list" || method == "resources/list" ||
         method == "resources/templates/list" || method == "logging/setLevel" ||
         method == "resources/subscribe" || method == "resources/unsubscribe" ||
         method == "tasks/get" || method == "tasks/list" || method == "tasks/cancel";
}

std::string random_id() { return protocol::hex(protocol::random_bytes(16)); }

// The HTTP status for a response answered as one JSON body: 429 with Retry-After for a call
// refused by a rate limit (its error carries data.retryAfterMs), 200 otherwise.
http::status status_of(const std::string& response, std::vector<std::pair<std::string, std::string>>& headers) {
  if (response.find("retryAfterMs") == std::string::npos) return http::status::ok;
  const auto parsed = protocol::parse_json(response);
  const auto* error = protocol::object_member(parsed.value, "error");
  const auto* data = error != nullptr ? protocol::object_member(*error, "data") : nullptr;
  const auto wait = data != nullptr ? protocol::integer_member(*data, "retryAfterMs") : std::nullopt;
  if (!wait) return http::status::ok;
  headers.emplace_back("Retry-After", std::to_string(std::max<std::int64_t>(1, (*wait + 999) / 1000)));
  return http::status::too_many_requests;
}

struct mcp_session {
  std::string id;  // its name here: random, or the sid of a sealed session
  std::string principal;  // who opened it: only that principal may use it
  std::string group;  // the endpoint's group ("" for /mcp)
  std::shared_ptr<http_channel> channel;
  std::shared_ptr<host_session> host;
  clock::time_point last_seen = clock::now();
  clock::time_point opened = clock::now();
  bool legacy = false;
  bool ended = false;
  // Sealed sessions (http.sessions): the state in its id, the id handed out last, the
  // host state it was sealed from and the key that sealed it.
  std::optional<sealed_session> sealed;
  std::string token;  // the Mcp-Session-Id to send; `id` when not sealed
  std::uint64_t sealed_changes = 0;
  std::string sealed_key;
};

// An SSE stream to a host counted open while it lives. The stream's coroutine frame may be
// destroyed after the server (and the metrics) when the io_context goes down with the stream
// still open: the server's `alive` token says whether the metrics are still there.
class sse_gauge {
 public:
  sse_gauge(observe::metrics* counters, observe::transport t, std::weak_ptr<const bool> alive)
      : counters_(counters), transport_(t), alive_(std::move(alive)) {
    if (counters_ != nullptr) counters_->sse_stream_opened(transport_);
  }
  ~sse_gauge() {
    if (counters_ != nullptr && !alive_.expired()) counters_->sse_stream_closed(transport_);
  }
  sse_gauge(const sse_gauge&) = delete;
  sse_gauge& operator=(const sse_gauge&) = delete;

 private:
  observe::metrics* counters_;
  observe::transport transport_;
  std::weak_ptr<const bool> alive_;
};

// W3C trace context in HTTP headers, for a request whose `_meta` carries none: moved into
// `_meta` (where MCP carries it), so that the session continues the host's trace. True when
// `message` changed.
bool adopt_trace_headers(const request& req, protocol::message& message) {
  const auto parent = req["traceparent"];
  if (parent.empty() || message.kind != protocol::message_kind::request) return false;
  auto* params = protocol::member(message.body, "params");
  if (params != nullptr && !params->is_object()) return false;
  if (params != nullptr) {
    if (const auto* meta = protocol::member(*params, "_meta"); meta != nullptr && protocol::member(*meta, "traceparent") != nullptr) {
      return false;
    }
  }
  auto context = observe::context_from_headers(parent, req["tracestate"]);
  if (!context) return false;
  if (params == nullptr) {
    message.body["params"] = protocol::json::object();
    params = &message.body["params"];
  }
  return observe::inject_meta(*params, *context);
}

// The base URL the other replicas reach this one at, when the listen address says it.
std::string advertise_url(const http_options& options, const asio::ip::address& address, std::uint16_t port) {
  if (!options.advertise.empty()) {
    auto url = options.advertise;
    while (!url.empty() && url.back() == '/') url.pop_back();
    return url;
  }
  if (address.is_unspecified()) return {};
  const auto host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
  return (options.tls_cert.empty() ? "http://" : "https://") + host + ":" + std::to_string(port);
}

class server_impl final : public http_server {
 public:
  server_impl(asio::any_io_executor executor, relay& relay, backend& backend, http_options options)
      : executor_(std::move(executor)), relay_(relay), backend_(backend),
        options_(std::move(options)), acceptor_(executor_) {
    const auto bound = listening::open(acceptor_, options_.address, options_.port, "listen");
    port_ = bound.port;
    loopback_ = bound.address.is_loopback();
    if (options_.admin != nullptr && options_.admin->telemetry != nullptr) telemetry_ = options_.admin->telemetry;
    counters_ = telemetry_ != nullptr ? telemetry_->metrics : nullptr;
    portable_ = std::make_shared<portable_sessions>(
        portable_sessions::options{options_.session_max_lifetime, options_.ended_sessions,
                                   advertise_url(options_, bound.address, port_)},
        protocol::hex(protocol::random_bytes(6)));
    set_session_keys(options_.session_keys);
    if (!options_.tls_cert.empty()) {
      if (auto error = set_tls(options_.tls_cert, options_.tls_key, options_.tls_client_ca); !error.empty()) {
        throw std::runtime_error(error);
      }
    }
  }

  std::string set_tls(const std::string& cert, const std::string& key, const std::string& client_ca) override {
    try {
      auto next = std::make_shared<ssl::context>(ssl::context::tls_server);
      next->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                        ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 | ssl::context::single_dh_use);
      next->use_certificate_chain_file(cert);
      next->use_private_key_file(key, ssl::context::pem);
      if (!client_ca.empty()) {
        next->load_verify_file(client_ca);
        next->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
      }
      tls_ = std::move(next);  // connections from now on; open ones keep theirs
      spdlog::info("http: TLS with {}{}", cert, client_ca.empty() ? "" : " (client certificates required)");
      return {};
    } catch (const std::exception& e) {
      return "TLS: cannot use " + cert + " and " + key + ": " + e.what();
    }
  }

  void set_session_keys(std::shared_ptr<const key_ring> keys) override {
    if (keys) {
      const auto ids = keys->key_ids();
      std::string list;
      for (const auto& id : ids) list += (list.empty() ? "" : ", ") + id;
      spdlog::info("http: session ids sealed with key {} (ring: {}); replies routed via {}", keys->sealing_key(),
                   list, portable_->advertise().empty() ? "nowhere (no http.sessions.advertise)" : portable_->advertise());
    } else if (portable_->enabled()) {
      spdlog::info("http: session keys removed; new sessions live in this process only");
    }
    portable_->set_keys(std::move(keys));
    known_tokens_.clear();
  }

  [[nodiscard]] std::uint16_t port() const override { return port_; }

  asio::awaitable<void> run() override {
    asio::co_spawn(executor_, sweep_idle_sessions(), io::log_failure("session sweeper"));
    auto backoff = min_accept_backoff;
    while (!stopped_) {
      auto [ec, socket] = co_await acceptor_.async_accept(use_tuple);
      if (ec) {
        if (stopped_ || ec == asio::error::operation_aborted) break;
        co_await accept_failed(ec, backoff);
        backoff = std::min(backoff * 2, max_accept_backoff);
        continue;
      }
      backoff = min_accept_backoff;
      // Replies leave as several small writes (headers, SSE events, the last chunk): without
      // TCP_NODELAY Nagle holds each behind the peer's delayed ACK, some 40 ms a reply.
      boost::system::error_code nodelay_ec;
      socket.set_option(tcp::no_delay(true), nodelay_ec);
      asio::co_spawn(executor_, serve_connection(std::move(socket)), io::log_failure("HTTP connection"));
    }
  }

  asio::awaitable<void> drain(clock::time_point deadline) override {
    if (stopped_ || draining_) co_return;
    draining_ = true;
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    spdlog::info("http: draining: no new connections; {} request{} in flight", requests_in_flight_,
                 requests_in_flight_ == 1 ? "" : "s");
    // A sealed session continues on the other replicas; the others (legacy SSE, WebSocket,
    // unsealed) end here.
    const auto notice = [](const char* what) {
      return protocol::serialize(protocol::make_notification(
          "notifications/message", {{"level", "warning"}, {"logger", "manifold"}, {"data", what}}));
    };
    const auto moves = notice("this manifold instance is shutting down; requests in flight are answered, and the "
                              "session continues on the other instances");
    const auto ends = notice("manifold is shutting down; requests in flight are answered, then this session ends "
                             "(reconnect to continue)");
    for (auto& [id, s] : sessions_) {
      s->channel->send(s->sealed ? moves : ends);
      s->host->end_subscriptions();
    }
    // 2026-07-28 listens end with their result, so that their POSTs finish.
    for (const auto& host : stateless_hosts_) host->end_subscriptions();
    while (requests_in_flight_ > 0 && !stopped_ && clock::now() < deadline) co_await quiet_.wait_until(deadline);
    if (requests_in_flight_ > 0 && !stopped_) {
      spdlog::warn("http: drain deadline passed with {} request{} in flight", requests_in_flight_,
                   requests_in_flight_ == 1 ? "" : "s");
    }
    stop();
  }

  void stop() override {
    stopped_ = true;
    quiet_.wake_all();
    boost::system::error_code ignored;
    acceptor_.close(ignored);
    if (spare_fd_ >= 0) ::close(spare_fd_);
    spare_fd_ = -1;
    for (auto& [id, s] : sessions_) end_session(*s);
    sessions_.clear();
    // Sessions kept for pending bridged calls: stopping them ends those calls.
    const auto lingering = lingering_;
    for (const auto& host : lingering) host->stop();
    if (sweeper_ != nullptr) sweeper_->cancel();
    admin_streams_.close_all();
  }

 private:
  // ---- connection ----

  // accept() failed. Out of descriptors (EMFILE/ENFILE): the pending connection is shed (the
  // spare descriptor makes room to accept and close it, so the client hears at once and the
  // listener does not spin), then the loop waits `backoff` before accepting again. Logged at
  // most once per interval, with a count.
  asio::awaitable<void> accept_failed(const boost::system::error_code& ec, std::chrono::milliseconds backoff) {
    ++accept_failures_;
    const auto now = clock::now();
    if (now - last_accept_log_ >= accept_log_interval) {
      spdlog::warn("http: accept failed {} time{} since the last report ({}); {} connection{} shed",
                   accept_failures_, accept_failures_ == 1 ? "" : "s", ec.message(), shed_,
                   shed_ == 1 ? "" : "s");
      accept_failures_ = 0;
      shed_ = 0;
      last_accept_log_ = now;
    }
    if (ec == asio::error::no_descriptors ||
        ec == boost::system::errc::too_many_files_open_in_system) {
      shed_pending_connections();
    }
    asio::steady_timer wait(executor_, backoff);
    co_await wait.async_wait(use_tuple);
  }

  // Every connection waiting in the backlog is accepted and closed at once: none could be
  // served now, and their clients had better hear it than wait.
  void shed_pending_connections() {
    if (spare_fd_ >= 0) {
      ::close(spare_fd_);
      spare_fd_ = -1;
    }
    for (int i = 0; i < max_shed_per_cycle; ++i) {
      const int fd = ::accept4(acceptor_.native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
      if (fd < 0) break;
      ::close(fd);
      ++shed_;
    }
    spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  }

  // One accepted connection: TLS first when the listener serves https, then HTTP.
  asio::awaitable<void> serve_connection(tcp::socket socket) {
    beast::tcp_stream plain(std::move(socket));
    const auto tls = tls_;
    if (!tls) {
      if (co_await serve_http(plain)) co_return;  // a WebSocket took the connection over
      boost::system::error_code ignored;
      plain.socket().shutdown(tcp::socket::shutdown_send, ignored);
      co_return;
    }
    beast::ssl_stream<beast::tcp_stream> secure(std::move(plain), *tls);
    beast::get_lowest_layer(secure).expires_after(options_.read_timeout);
    auto [ec] = co_await secure.async_handshake(ssl::stream_base::server, use_tuple);
    if (ec) {
      spdlog::debug("http: TLS handshake failed: {}", ec.message());
      co_return;
    }
    if (co_await serve_http(secure)) co_return;
    beast::get_lowest_layer(secure).expires_after(std::chrono::seconds(2));
    co_await secure.async_shutdown(use_tuple);
  }

  // Requests on one connection, one at a time. True when a WebSocket upgrade took the stream
  // over (it is moved from then).
  template <typename Stream>
  asio::awaitable<bool> serve_http(Stream& stream) {
    beast::flat_buffer buffer;
    while (!stopped_) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
      parser.body_limit(options_.max_body_bytes);
      if (buffer.size() == 0) {
        // Between requests a keep-alive connection may idle longer than a request may take to
        // arrive: a client that sends its next request just as the server closes an idle
        // connection sees "other side closed" on a request it cannot know was not read.
        // Clients close idle connections first (undici after 4 s); read_timeout applies from
        // the request's first byte.
        beast::get_lowest_layer(stream).expires_after(std::max<std::chrono::milliseconds>(options_.read_timeout, keepalive_idle));
        auto [idle_ec, got] = co_await stream.async_read_some(buffer.prepare(4096), use_tuple);
        if (idle_ec) break;
        buffer.commit(got);
      }
      beast::get_lowest_layer(stream).expires_after(options_.read_timeout);
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
      if (ec == http::error::body_limit) {
        co_await respond_error(stream, 11, true, http::status::payload_too_large,
                               error_code::invalid_request,
                               "request body exceeds " + std::to_string(options_.max_body_bytes) + " bytes");
        break;
      }
      if (ec == http::error::header_limit) {
        co_await respond_error(stream, 11, true, http::status::request_header_fields_too_large,
                               error_code::invalid_request, "request headers too large");
        break;
      }
      if (ec.category() == http::make_error_code(http::error::bad_method).category() &&
          ec != http::error::end_of_stream && ec != http::error::partial_message &&
          ec != http::error::short_read) {
        // Malformed framing the parser could read far enough to judge: say so before closing.
        co_await respond_error(stream, 11, false, http::status::bad_request, error_code::invalid_request,
                               "Bad Request: " + ec.message());
        break;
      }
      if (ec) break;  // closed, reset, or too slow (read_timeout)
      auto req = parser.release();
      if (const auto* group = group_for(path_of(req), "/ws"); websocket::is_upgrade(req) && group != nullptr) {
        if (!co_await check_origin_and_host(stream, req)) co_return false;
        auto who = co_await identify(stream, req);
        if (!who) co_return false;
        const bool allowed = co_await may_use(stream, req, *group, *who);
        if (!allowed) co_return false;
        if (session_count() >= options_.max_sessions) {
          co_await too_many_sessions(stream, req);
          co_return false;
        }
        co_await serve_websocket(std::move(stream), std::move(req), *group, std::move(*who));
        co_return true;
      }
      // Draining: a request that came on a connection opened before is answered, with
      // `Connection: close`, so that a balancer that keeps connections does not send the
      // next one on this connection just as it closes (it would fail a POST it cannot repeat).
      if (draining_) req.keep_alive(false);
      // Requests in flight, for a drain (a standalone GET stream is not one: it never ends).
      const bool counted = req.method() != http::verb::get;
      if (counted) ++requests_in_flight_;
      const bool keep = co_await handle(stream, req);
      if (counted && --requests_in_flight_ == 0) quiet_.wake_all();
      // (A stream whose headers left before the drain began promised keep-alive: its
      // connection stays open, and the next request on it is answered with `Connection: close`.)
      if (!keep || !req.keep_alive()) break;
    }
    co_return false;
  }

  // The view `path` serves: `base` itself is the whole catalog, `base/<group>` a group;
  // null when it is neither.
  const group_view* group_for(const std::string& path, std::string_view base) const {
    if (path == base) return &whole_;
    if (path.size() <= base.size() + 1 || path.compare(0, base.size(), base) != 0 || path[base.size()] != '/') {
      return nullptr;
    }
    const auto name = std::string_view(path).substr(base.size() + 1);
    for (const auto& g : options_.groups) {
      if (g.name == name) return &g;
    }
    return nullptr;
  }

  static std::string path_of(const request& req) {
    const auto target = std::string_view(req.target().data(), req.target().size());
    return std::string(target.substr(0, target.find('?')));
  }

  template <typename Stream>
  asio::awaitable<bool> handle(Stream& stream, request& req) {
    const auto path = path_of(req);
    if (path == "/healthz" && req.method() == http::verb::get) {
      const std::string body = R"({"status":"ok"})";
      co_return co_await respond(stream, req, http::status::ok, body);
    }
    if (options_.auth != nullptr && req.method() == http::verb::get) {
      for (const auto& metadata_path : options_.auth->resource_metadata_paths()) {
        if (path == metadata_path) {
          // RFC 9728: where a client learns which authorization servers issue tokens for this.
          co_return co_await respond(stream, req, http::status::ok, options_.auth->resource_metadata().dump());
        }
      }
    }
    if (options_.admin != nullptr && options_.admin->serves(path)) co_return co_await admin_request(stream, req, path);
    if (path == "/readyz" && req.method() == http::verb::get) {
      // It names the upstreams: only for the hosts and origins the MCP endpoints serve, and
      // for authenticated callers unless auth.public_endpoints opens it.
      if (!co_await check_origin_and_host(stream, req)) co_return false;
      if (options_.auth != nullptr && !options_.auth->is_public(path)) {
        const auto who = co_await identify(stream, req);
        if (!who) co_return false;
      }
      co_return co_await respond(stream, req,
                                 backend_.ready() ? http::status::ok : http::status::service_unavailable,
                                 backend_.status().dump());
    }
    if (path == ended_notice_path && req.method() == http::verb::post && portable_->enabled()) {
      co_return co_await ended_elsewhere(stream, req);
    }
    if (!co_await check_origin_and_host(stream, req)) co_return false;
    const bool mcp_endpoint = group_for(path, "/mcp") != nullptr || path == "/sse" || path == "/message";
    if (!mcp_endpoint) {
      co_return co_await respond_error(stream, req.version(), req.keep_alive(), http::status::not_found,
                                       error_code::invalid_request, "no such endpoint: " + protocol::log_safe(path, 200));
    }
    const auto who = co_await identify(stream, req);
    if (!who) co_return false;
    if (const auto* group = group_for(path, "/mcp")) {
      if (!co_await may_use(stream, req, *group, *who)) co_return req.keep_alive();
      switch (req.method()) {
        case http::verb::post:
          co_return co_await post_mcp(stream, req, *group, *who);
        case http::verb::get:
          co_return co_await get_mcp(stream, req, *group, *who);
        case http::verb::delete_:
          co_return co_await delete_mcp(stream, req, *group, *who);
        default: {
          // (headers built outside co_await: GCC 12 mis-compiles braced lists inside it)
          header_list allow;
          allow.emplace_back("Allow", "GET, POST, DELETE");
          co_return co_await respond_error(stream, req.version(), req.keep_alive(),
                                           http::status::method_not_allowed,
                                           error_code::invalid_request, "use POST, GET or DELETE",
                                           std::move(allow));
        }
      }
    }
    if (path == "/sse" && req.method() == http::verb::get) co_return co_await legacy_stream(stream, req, *who);
    if (path == "/message" && req.method() == http::verb::post) co_return co_await legacy_post(stream, req, *who);
    co_return co_await respond_error(stream, req.version(), req.keep_alive(), http::status::not_found,
                                     error_code::invalid_request, "no such endpoint: " + protocol::log_safe(path, 200));
  }

  // Metrics, the status page and the tap: for the hosts and origins the MCP endpoints serve,
  // and for authenticated callers with one of auth.admin_roles (when listed) unless
  // auth.public_endpoints opens the path (/metrics).
  template <typename Stream>
  asio::awaitable<bool> admin_request(Stream& stream, request& req, const std::string& path) {
    if (!co_await check_origin_and_host(stream, req)) co_return false;
    if (options_.auth != nullptr && !options_.auth->is_public(path)) {
      const auto who = co_await identify(stream, req);
      if (!who) co_return false;
      if (who->who != nullptr && !options_.auth->may_administer(*who->who)) {
        spdlog::info("http: {} may not use {} (auth.admin_roles)", who->principal_name(), protocol::log_safe(path, 200));
        std::string message = "Forbidden: the admin endpoints need one of the roles";
        for (const auto& r : options_.auth->admin_roles()) message += " " + r;
        co_await respond_error(stream, req.version(), req.keep_alive(), http::status::forbidden,
                               error_code::invalid_request, std::move(message));
        co_return req.keep_alive();
      }
    }
    co_return co_await serve_admin(stream, req, path, *options_.admin, admin_streams_,
                                   options_.client_limits.write_timeout);
  }

  // Who sent `req` (auth), or nullopt after the refusal was answered: 401 with the Bearer
  // challenge, 403 for a token without the required scope, 400 for a malformed header.
  // Without an authenticator: nobody in particular (the session decides, as with stdio).
  template <typename Stream>
  asio::awaitable<std::optional<session_identity>> identify(Stream& stream, const request& req) {
    if (options_.auth == nullptr) co_return session_identity{};
    access::header_lookup lookup = [&req](std::string_view name) -> std::optional<std::string_view> {
      const auto it = req.find(name);
      if (it == req.end()) return std::nullopt;
      return std::string_view(it->value().data(), it->value().size());
    };
    auto outcome = co_await options_.auth->authenticate(std::move(lookup));
    if (!outcome.ok()) {
      const auto& refused = outcome.refused;
      spdlog::info("http: refused {} {}: {}", std::string(req.method_string()),
                   protocol::log_safe(path_of(req), 200), refused.log_reason);
      header_list headers;
      if (!refused.www_authenticate.empty()) headers.emplace_back("WWW-Authenticate", refused.www_authenticate);
      const auto body = protocol::serialize(
          protocol::make_error(nullptr, protocol::rpc_error::from_json(refused.json_rpc_error())));
      co_await respond(stream, req, static_cast<http::status>(refused.status), body, "application/json",
                       std::move(headers));
      co_return std::nullopt;
    }
    session_identity who;
    who.who = std::make_shared<const access::principal>(std::move(*outcome.who));
    if (options_.gate != nullptr) who.roles = options_.gate->view_for(*who.who);
    co_return who;
  }

  // The caller's roles may use this group's endpoint; 403 answered otherwise.
  template <typename Stream>
  asio::awaitable<bool> may_use(Stream& stream, const request& req, const group_view& group,
                                const session_identity& who) {
    if (!who.roles || who.roles->may_use_group(group.name)) co_return true;
    spdlog::info("http: {} may not use {}", who.principal_name(), group.name.empty() ? "/mcp" : "/mcp/" + group.name);
    co_await respond_error(stream, req.version(), req.keep_alive(), http::status::forbidden,
                           error_code::invalid_request, "Forbidden: your roles do not include this endpoint");
    co_return false;
  }

  // DNS-rebinding protection and browser isolation: a foreign Origin gets 403, and on a
  // loopback listener only loopback Host names (and configured ones) are accepted.
  template <typename Stream>
  asio::awaitable<bool> check_origin_and_host(Stream& stream, const request& req) {
    const auto host = std::string(req[http::field::host]);
    if (!host_allowed(host)) {
      spdlog::warn("http: refused Host `{}`", protocol::log_safe(host, 200));
      co_await respond_error(stream, req.version(), false, http::status::forbidden,
                             error_code::invalid_request, "Host not allowed: " + host);
      co_return false;
    }
    const auto origin = req[http::field::origin];
    if (!origin.empty() && !origin_allowed(std::string(origin))) {
      spdlog::warn("http: refused Origin `{}`", protocol::log_safe(origin, 200));
      co_await respond_error(stream, req.version(), false, http::status::forbidden,
                             error_code::invalid_request, "Origin not allowed: " + std::string(origin));
      co_return false;
    }
    co_return true;
  }

  bool host_allowed(const std::string& host) const {
    return listening::host_allowed(options_.allowed_hosts, loopback_, host);
  }

  bool origin_allowed(const std::string& origin) const {
    return listening::origin_allowed(options_.allowed_origins, origin);
  }

  // ---- Streamable HTTP ----

  template <typename Stream>
  asio::awaitable<bool> post_mcp(Stream& stream, request& req, const group_view& group,
                                 const session_identity& who) {
    const auto v = req.version();
    const bool keep = req.keep_alive();
    const auto accept = protocol::lower_ascii(std::string(req[http::field::accept]));
    if (accept.find("application/json") == std::string::npos ||
        accept.find("text/event-stream") == std::string::npos) {
      co_return co_await respond_error(stream, v, keep, http::status::not_acceptable,
                                       error_code::invalid_request,
                                       "Not Acceptable: Accept must list application/json and text/event-stream");
    }
    const auto content_type = protocol::lower_ascii(std::string(req[http::field::content_type]));
    if (content_type.find("application/json") == std::string::npos) {
      co_return co_await respond_error(stream, v, keep, http::status::unsupported_media_type,
                                       error_code::invalid_request, "Content-Type must be application/json");
    }
    auto parsed = protocol::parse_message(req.body());
    if (!parsed.msg) {
      co_return co_await respond(stream, req, http::status::bad_request,
                                 protocol::serialize(*parsed.error_reply));
    }
    auto& msg = *parsed.msg;
    // What the session reads: the body, or the body with the HTTP trace context in `_meta`.
    auto inbound = std::string(req.body());
    if (telemetry_ != nullptr && telemetry_->tracer != nullptr && adopt_trace_headers(req, msg)) {
      inbound = protocol::serialize(msg.body);
    }
    const auto session_header = std::string(req["Mcp-Session-Id"]);
    // MCP 2026-07-28: a request without a session that carries the per-request envelope (or
    // whose MCP-Protocol-Version header names that era) is served statelessly. A session id
    // always means the handshake era's session.
    if (session_header.empty() && msg.kind != protocol::message_kind::response &&
        msg.kind != protocol::message_kind::error_response &&
        (protocol::modern::claims_modern(msg.params()) || msg.method() == "server/discover" ||
         protocol::modern::is_modern_header(std::string(req["MCP-Protocol-Version"])))) {
      co_return co_await post_modern(stream, req, msg, group, who);
    }
    const bool is_initialize =
        msg.kind == protocol::message_kind::request && msg.method() == "initialize";
    std::shared_ptr<mcp_session> session;
    if (is_initialize) {
      if (!session_header.empty()) {
        co_return co_await respond_error(stream, v, keep, http::status::bad_request,
                                         error_code::invalid_request,
                                         "initialize starts a new session; send it without Mcp-Session-Id");
      }
      if (session_count() >= options_.max_sessions) co_return co_await too_many_sessions(stream, req);
      session = open_session(false, group, who);
    } else {
      if (auto problem = co_await find_session(stream, req, session_header, group, who, session); !problem) {
        co_return true;
      }
      if (!session) co_return false;
    }
    session->last_seen = clock::now();

    if (msg.kind != protocol::message_kind::request) {
      std::string body = std::move(inbound);
      const bool answer = msg.kind == protocol::message_kind::response ||
                          msg.kind == protocol::message_kind::error_response;
      if (answer && portable_->enabled() && !co_await route_answer(req, *session, msg, body)) {
        co_return co_await respond(stream, req, http::status::accepted, "", "");
      }
      session->channel->push_inbound(std::move(body));
      co_return co_await respond(stream, req, http::status::accepted, "", "");
    }
    const auto key = msg.id().dump();
    if (answers_with_json(msg.method())) {
      auto slot = std::make_shared<json_slot>();
      if (!session->channel->expect_json(key, slot)) co_return co_await duplicate_id(stream, req);
      session->channel->push_inbound(std::move(inbound));
      co_await slot->ready.wait_until(clock::now() + options_.max_request_time);
      if (!slot->response) {
        if (session->channel->closed()) {
          co_return co_await respond_error(stream, v, keep, http::status::not_found,
                                           error_code::invalid_request, "the session ended");
        }
        co_return co_await respond(stream, req, http::status::accepted, "", "");  // cancelled
      }
      header_list headers;
      headers.emplace_back("Mcp-Session-Id", current_token(*session));
      const auto status = status_of(*slot->response, headers);
      co_return co_await respond(stream, req, status, std::move(*slot->response), "application/json",
                                 std::move(headers));
    }
    auto events = session->channel->expect_stream(key);
    if (!events) co_return co_await duplicate_id(stream, req);
    session->channel->push_inbound(std::move(inbound));
    co_await events->wait(0, clock::now() + quick_reply_window);
    if (const auto pending = events->since(0); events->finished() && pending.size() == 1) {
      events->delivered = pending.front().seq;
      session->channel->forget_stream(events);
      header_list headers;
      headers.emplace_back("Mcp-Session-Id", current_token(*session));
      const auto status = status_of(pending.front().data, headers);
      co_return co_await respond(stream, req, status, pending.front().data, "application/json",
                                 std::move(headers));
    }
    co_return co_await write_stream(stream, req, events, 0, current_token(*session), true);
  }

  // One 2026-07-28 request: checked (envelope, then headers against the body, then the
  // version, then the method), then served by a session that lives as long as the request,
  // with the caller's identity and view. Its answer is JSON, or an SSE stream when progress
  // comes first; closing the stream cancels the request.
  template <typename Stream>
  asio::awaitable<bool> post_modern(Stream& stream, request& req, const protocol::message& msg,
                                    const group_view& group, const session_identity& who) {
    if (msg.kind == protocol::message_kind::notification) {
      // No client notification is defined over HTTP in 2026-07-28 (cancel = close the stream).
      co_return co_await respond(stream, req, http::status::accepted, "", "");
    }
    const auto method = std::string(msg.method());
    const auto params = msg.params();
    const auto refuse = [&](http::status status, const protocol::rpc_error& error) {
      spdlog::info("http: 2026-07-28 {} refused: {} {}", protocol::log_safe(method, 100), error.code,
                   protocol::log_safe(error.message, 200));
      return respond(stream, req, status, protocol::serialize(protocol::make_error(msg.id(), error)));
    };
    auto checked = protocol::modern::check_envelope(params);
    if (checked.error && checked.error->code == error_code::invalid_params) {
      co_return co_await refuse(http::status::bad_request, *checked.error);
    }
    protocol::modern::standard_headers headers;
    const auto header = [&req](std::string_view name) -> std::optional<std::string> {
      const auto it = req.find(beast::string_view(name.data(), name.size()));
      if (it == req.end()) return std::nullopt;
      return std::string(it->value());
    };
    headers.protocol_version = header("MCP-Protocol-Version");
    headers.method = header("Mcp-Method");
    headers.name = header("Mcp-Name");
    if (auto mismatch = protocol::modern::check_headers(headers, method, params)) {
      co_return co_await refuse(http::status::bad_request, *mismatch);
    }
    if (checked.error) co_return co_await refuse(http::status::bad_request, *checked.error);
    if (!protocol::modern::is_modern_method(method)) {
      const protocol::rpc_error unknown{error_code::method_not_found,
                                        "Method not found: " + protocol::log_safe(method, 100) +
                                            " (not a method of MCP 2026-07-28)",
                                        std::nullopt};
      co_return co_await refuse(http::status::not_found, unknown);
    }
    if (session_count() + stateless_in_flight_ >= options_.max_sessions) {
      co_return co_await too_many_sessions(stream, req);
    }
    ++stateless_in_flight_;
    auto channel = std::make_shared<http_channel>("stateless", 0, options_.client_limits.max_queued_bytes, false);
    auto host = relay_.open_session(channel, group, who);
    host->expect_param_headers(param_headers(req));
    stateless_hosts_.insert(host);
    asio::co_spawn(executor_, host->run(), io::log_failure("2026-07-28 request"));
    const auto key = msg.id().dump();
    auto events = channel->expect_stream(key);
    channel->push_inbound(std::string(req.body()));
    co_await events->wait(0, clock::now() + quick_reply_window);
    bool kept = false;
    if (const auto pending = events->since(0); events->finished() && pending.size() == 1) {
      events->delivered = pending.front().seq;
      header_list extra;
      auto status = status_of(pending.front().data, extra);
      if (status == http::status::ok) status = modern_status(pending.front().data);
      kept = co_await respond(stream, req, status, pending.front().data, "application/json", std::move(extra));
    } else {
      // Progress (or a listen's notifications) first: an SSE stream without event ids.
      kept = co_await write_stream(stream, req, events, 0, std::string(), false, {}, true);
    }
    if (host->pending_calls() > 0) {
      // A bridged call (MCP multi-round-trip) waits for the host's retry, which another POST
      // brings: the session that runs its upstream call stays until the call ends.
      asio::co_spawn(executor_, linger(host, channel), io::log_failure("2026-07-28 pending call"));
      co_return kept;
    }
    host->stop();  // cancels what is still running (the client closed the stream)
    channel->close();
    stateless_hosts_.erase(host);
    --stateless_in_flight_;
    co_return kept;
  }

  // The request's Mcp-Param-* headers (bounded: the header block itself is).
  static protocol::modern::received_headers param_headers(const request& req) {
    protocol::modern::received_headers out;
    const auto prefix = protocol::modern::param_header_prefix;
    for (const auto& field : req) {
      const auto name = field.name_string();
      if (name.size() > prefix.size() && beast::iequals(name.substr(0, prefix.size()), prefix)) {
        out.emplace_back(std::string(name), std::string(field.value()));
      }
    }
    return out;
  }

  // Keeps a 2026-07-28 request's session until the calls it started end (each by its
  // deadline at the latest; stop() ends them at once), then ends it. It still counts against
  // http.max_sessions meanwhile.
  asio::awaitable<void> linger(std::shared_ptr<host_session> host, std::shared_ptr<http_channel> channel) {
    lingering_.insert(host);
    co_await host->pending_ended();
    lingering_.erase(host);
    host->stop();
    channel->close();
    stateless_hosts_.erase(host);
    --stateless_in_flight_;
  }

  // The HTTP status a 2026-07-28 error response takes: 400 for envelope, header, capability
  // and version errors, 404 for an unknown method; everything else is answered in-band (200).
  static http::status modern_status(const std::string& response) {
    if (response.find("\"error\"") == std::string::npos) return http::status::ok;
    const auto parsed = protocol::parse_json(response);
    const auto* error = protocol::object_member(parsed.value, "error");
    const auto code = error != nullptr ? protocol::integer_member(*error, "code") : std::nullopt;
    if (!code) return http::status::ok;
    if (*code == error_code::method_not_found) return http::status::not_found;
    if (*code == error_code::header_mismatch || *code == error_code::missing_client_capability ||
        *code == error_code::unsupported_protocol_version) {
      return http::status::bad_request;
    }
    const auto* data = protocol::object_member(*error, "data");
    if (*code == error_code::invalid_params && data != nullptr && protocol::member(*data, "envelope") != nullptr) {
      return http::status::bad_request;
    }
    return http::status::ok;
  }

  template <typename Stream>
  asio::awaitable<bool> duplicate_id(Stream& stream, const request& req) {
    co_return co_await respond_error(stream, req.version(), req.keep_alive(), http::status::bad_request,
                                     error_code::invalid_request, "a request with this id is already in flight");
  }

  // Finds the session a request names. Answers 400 (no id) or 404 (unknown or ended) itself
  // and returns false then; `out` stays null.
  template <typename Stream>
  asio::awaitable<bool> find_session(Stream& stream, const request& req,
                                     const std::string& id, const group_view& group,
                                     const session_identity& who, std::shared_ptr<mcp_session>& out) {
    if (id.empty()) {
      co_await respond_error(stream, req.version(), req.keep_alive(), http::status::bad_request,
                             error_code::invalid_request, "Bad Request: Mcp-Session-Id header is required");
      co_return false;
    }
    // A sealed id names its session by the sid inside; one this process does not hold is
    // continued here when it opens, has not expired, was not ended here, and belongs to this
    // endpoint and to the caller.
    std::optional<sealed_session> sealed;
    std::string key_id;
    auto it = sessions_.end();
    if (auto known = known_token(id)) {
      it = sessions_.find(known->id);  // an id this process handed out or opened: not opened again
    } else if (portable_->enabled() && looks_sealed(id)) {
      auto found = portable_->open(id);
      if (!found.state) {
        spdlog::info("http: session id refused: {}", found.problem);
        co_await respond_error(stream, req.version(), req.keep_alive(), http::status::not_found,
                               error_code::invalid_request,
                               found.expired ? "Session not found (it expired)"
                                             : found.ended ? "Session not found (it ended)" : "Session not found");
        co_return false;
      }
      sealed = std::move(found.state);
      key_id = std::move(found.key_id);
      it = sessions_.find(sealed->sid);
    } else {
      it = sessions_.find(id);
    }
    if (it != sessions_.end() && it->second->channel->closed()) {
      // It ended itself (a client that stopped reading): gone for good.
      if (it->second->sealed) portable_->ended(*it->second->sealed);
      end_session(*it->second);
      sessions_.erase(it);
      co_await respond_error(stream, req.version(), req.keep_alive(), http::status::not_found,
                             error_code::invalid_request, "Session not found (it ended)");
      co_return false;
    }
    if (it == sessions_.end() && sealed && sealed->group == group.name && sealed->principal == who.principal_name()) {
      if (session_count() >= options_.max_sessions) {
        co_await too_many_sessions(stream, req);
        co_return false;
      }
      it = resume_session(*sealed, id, key_id, group, who);
    }
    // Another principal's session id is as unknown as one that never existed.
    if (it == sessions_.end() || it->second->legacy || it->second->group != group.name ||
        it->second->principal != who.principal_name()) {
      co_await respond_error(stream, req.version(), req.keep_alive(), http::status::not_found,
                             error_code::invalid_request, "Session not found");
      co_return false;
    }
    const auto version = std::string(req["MCP-Protocol-Version"]);
    if (!version.empty() && !protocol::is_supported_version(version)) {
      co_await respond_error(stream, req.version(), req.keep_alive(), http::status::bad_request,
                             error_code::invalid_request, "Unsupported MCP-Protocol-Version: " + version);
      co_return false;
    }
    if (sealed) remember_token(id, it->second);
    out = it->second;
    co_return true;
  }

  template <typename Stream>
  asio::awaitable<bool> get_mcp(Stream& stream, request& req, const group_view& group,
                                const session_identity& who) {
    const auto accept = protocol::lower_ascii(std::string(req[http::field::accept]));
    if (accept.find("text/event-stream") == std::string::npos) {
      co_return co_await respond_error(stream, req.version(), req.keep_alive(), http::status::not_acceptable,
                                       error_code::invalid_request, "Not Acceptable: GET needs Accept: text/event-stream");
    }
    if (req["Mcp-Session-Id"].empty()) co_return co_await post_only(stream, req);
    std::shared_ptr<mcp_session> session;
    if (!co_await find_session(stream, req, std::string(req["Mcp-Session-Id"]), group, who, session)) co_return true;
    session->last_seen = clock::now();
    const auto last_event = std::string(req["Last-Event-ID"]);
    if (!last_event.empty()) {
      const auto colon = last_event.rfind(':');
      const auto events = colon == std::string::npos ? nullptr
                                                     : session->channel->find_stream(last_event.substr(0, colon));
      std::uint64_t seq = 0;
      const auto digits = colon == std::string::npos ? std::string_view() : std::string_view(last_event).substr(colon + 1);
      const auto [end, parse_error] = std::from_chars(digits.data(), digits.data() + digits.size(), seq);
      const bool resumable = events && !digits.empty() && parse_error == std::errc{} &&
                             end == digits.data() + digits.size();
      // A stream of another process (a replica that is gone, or another one: sealed
      // sessions move): the standalone stream starts afresh here (what it held is lost);
      // a request's stream cannot be continued, and the host hears that its request failed.
      const auto foreign = resumable || colon == std::string::npos || !portable_->enabled()
                               ? std::nullopt
                               : http_channel::parse_stream_id(std::string_view(last_event).substr(0, colon));
      if (foreign && foreign->instance != portable_->instance() && foreign->request_id) {
        co_return co_await write_lost(stream, req, *session, *foreign->request_id);
      }
      if (!resumable && !(foreign && foreign->instance != portable_->instance() && foreign->standalone)) {
        co_return co_await respond_error(stream, req.version(), req.keep_alive(), http::status::bad_request,
                                         error_code::invalid_request,
                                         "unknown Last-Event-ID: " + protocol::log_safe(last_event, 100));
      }
      // Resumption takes the stream over from a connection the client has given up on.
      if (resumable) co_return co_await write_stream(stream, req, events, seq, current_token(*session), false);
    }
    // A new GET stream replaces an older one (a client reconnecting before the server noticed
    // its old connection died).
    auto standalone = session->channel->standalone();
    co_return co_await write_stream(stream, req, standalone, standalone->delivered, current_token(*session), true);
  }

  // The answer to a resumption of request `request_id`'s stream that lived in another process:
  // an SSE response with one JSON-RPC error for it (retryable: whether it ran is unknown). Its
  // event id names no stream, so a client that resumes again is refused and stops.
  template <typename Stream>
  asio::awaitable<bool> write_lost(Stream& stream, const request& req, mcp_session& session,
                                   const json& request_id) {
    spdlog::info("http: session {}: request {} was being answered by another process; the host is told it failed",
                 session.id, protocol::log_safe(request_id.dump(), 100));
    const auto error = protocol::serialize(protocol::make_error(
        request_id, {error_code::connection_closed,
                     "The server instance answering this request went away before it answered; it may or may "
                     "not have run. Retry it if that is safe.",
                     json{{"retryable", true}}}));
    auto body = "id: " + portable_->instance() + "-x0:1\nevent: message\ndata: " + error + "\n\n";
    header_list headers;
    headers.emplace_back("Mcp-Session-Id", current_token(session));
    headers.emplace_back("Cache-Control", "no-cache");
    co_return co_await respond(stream, req, http::status::ok, std::move(body), "text/event-stream",
                               std::move(headers));
  }

  // Another replica's notice that a host ended a sealed session there. Its body is sealed
  // with the ring, so it needs no Host, Origin or credential checks: only a holder of the
  // keys can make one, and a replayed one ends nothing new.
  template <typename Stream>
  asio::awaitable<bool> ended_elsewhere(Stream& stream, request& req) {
    const auto sid = portable_->ended_by_notice(req.body());
    if (!sid) {
      spdlog::warn("http: a notice of an ended session does not open with the session keys");
      co_return co_await respond_error(stream, req.version(), req.keep_alive(), http::status::forbidden,
                                       error_code::invalid_request, "Forbidden");
    }
    if (const auto it = sessions_.find(*sid); it != sessions_.end() && !it->second->legacy) {
      spdlog::info("http: session {} ended by the host at another replica", *sid);
      end_session(*it->second);
      sessions_.erase(it);
    }
    co_return co_await respond(stream, req, http::status::no_content, "", "");
  }

  template <typename Stream>
  asio::awaitable<bool> delete_mcp(Stream& stream, request& req, const group_view& group,
                                   const session_identity& who) {
    if (req["Mcp-Session-Id"].empty()) co_return co_await post_only(stream, req);
    const auto id = std::string(req["Mcp-Session-Id"]);
    if (portable_->enabled() && looks_sealed(id)) {
      // A sealed session this process does not hold: remembered as ended, not continued first.
      auto found = portable_->open(id);
      if (found.state && sessions_.count(found.state->sid) == 0 && found.state->group == group.name &&
          found.state->principal == who.principal_name()) {
        spdlog::info("http: session {} ended by the host", found.state->sid);
        portable_->ended(*found.state);
        auto notice = portable_->ended_notice_for(*found.state);
        co_await tell_peers(executor_, std::move(notice), options_.session_peers);
        co_return co_await respond(stream, req, http::status::ok, "", "");
      }
    }
    std::shared_ptr<mcp_session> session;
    if (!co_await find_session(stream, req, id, group, who, session)) co_return true;
    spdlog::info("http: session {} ended by the host", session->id);
    std::string notice;
    if (session->sealed) {
      portable_->ended(*session->sealed);
      notice = portable_->ended_notice_for(*session->sealed);
    }
    end_session(*session);
    sessions_.erase(session->id);
    // The host hears back once the other replicas know (or could not be told).
    co_await tell_peers(executor_, std::move(notice), options_.session_peers);
    co_return co_await respond(stream, req, http::status::ok, "", "");
  }

  // Writes `events` after `after` as an SSE response, until the stream finishes or the
  // connection breaks (which is not a cancellation: the stream can be resumed).
  template <typename Stream>
  asio::awaitable<bool> write_stream(Stream& stream, const request& req,
                                     std::shared_ptr<event_stream> events, std::uint64_t after,
                                     const std::string& session_id, bool prime,
                                     std::string prelude = {}, bool legacy = false) {
    http::response<http::empty_body> res{http::status::ok, req.version()};
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-cache");
    res.set("X-Accel-Buffering", "no");
    if (!legacy) res.set("Mcp-Session-Id", session_id);
    const bool keep_alive = req.keep_alive() && !draining_;
    res.keep_alive(keep_alive);
    res.chunked(true);
    // The header and the priming event leave in one write, and the last events with the
    // final chunk in another: a quick reply costs two writes, not four.
    std::ostringstream head;
    head << res.base();
    const std::string header_text = head.str();
    // The priming event: an id to resume from, and how long a client waits before resuming.
    if (prime) {
      prelude += "id: " + events->event_id(after) + "\nretry: " +
                 std::to_string(reconnect_delay.count()) + "\ndata: \n\n";
    }
    beast::get_lowest_layer(stream).expires_after(options_.client_limits.write_timeout);
    if (prelude.empty()) {
      if (auto [ec, n] = co_await asio::async_write(stream, asio::buffer(header_text), use_tuple); ec) co_return false;
    } else {
      auto [ec, n] = co_await asio::async_write(
          stream, beast::buffers_cat(asio::buffer(header_text), http::make_chunk(asio::buffer(prelude))), use_tuple);
      if (ec) co_return false;
    }
    if (counters_ != nullptr) counters_->http_response(200);
    const sse_gauge open_stream(counters_, legacy ? observe::transport::sse : observe::transport::streamable_http,
                                alive_);
    const auto owner = events->attach();
    auto last = after;
    bool alive = true;
    bool ended = false;  // the final chunk is written
    while (alive && events->owned_by(owner)) {
      const auto pending = events->since(last);
      if (!pending.empty()) {
        std::string text;
        for (const auto& e : pending) {
          if (!legacy) text += "id: " + events->event_id(e.seq) + "\n";
          text += "event: message\ndata: " + e.data + "\n\n";
        }
        if (events->finished() && !stopped_) {
          beast::get_lowest_layer(stream).expires_after(options_.client_limits.write_timeout);
          auto [ec, n] = co_await asio::async_write(
              stream, beast::buffers_cat(http::make_chunk(asio::buffer(text)), http::make_chunk_last()), use_tuple);
          alive = !ec;
          ended = true;
        } else {
          alive = co_await write_chunk(stream, text);
        }
        if (alive) last = events->delivered = pending.back().seq;
        if (ended) break;
        continue;
      }
      if (events->finished() || stopped_) break;
      co_await events->wait(last, clock::now() + keepalive_interval);
      if (events->since(last).empty() && !events->finished() && events->owned_by(owner)) {
        alive = co_await write_chunk(stream, ": keepalive\n\n");
      }
    }
    if (!events->owned_by(owner)) co_return false;  // resumed elsewhere: drop this connection
    events->detach(owner);
    if (!alive) co_return false;
    if (ended) co_return keep_alive;
    beast::get_lowest_layer(stream).expires_after(options_.client_limits.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream, http::make_chunk_last(), use_tuple);
    co_return !ec && keep_alive;
  }

  // GET and DELETE name a handshake-era session; without one there is nothing to stream or
  // end (2026-07-28 is POST only).
  template <typename Stream>
  asio::awaitable<bool> post_only(Stream& stream, const request& req) {
    header_list allow;
    allow.emplace_back("Allow", "POST");
    co_return co_await respond_error(stream, req.version(), req.keep_alive(), http::status::method_not_allowed,
                                     error_code::invalid_request,
                                     "Method Not Allowed: without an Mcp-Session-Id, only POST is served",
                                     std::move(allow));
  }

  template <typename Stream>
  asio::awaitable<bool> write_chunk(Stream& stream, const std::string& text) {
    beast::get_lowest_layer(stream).expires_after(options_.client_limits.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream, http::make_chunk(asio::buffer(text)), use_tuple);
    co_return !ec;
  }

  // ---- legacy HTTP+SSE (2024-11-05) ----

  template <typename Stream>
  asio::awaitable<bool> legacy_stream(Stream& stream, request& req, const session_identity& who) {
    if (session_count() >= options_.max_sessions) co_return co_await too_many_sessions(stream, req);
    if (!co_await may_use(stream, req, whole_, who)) co_return false;
    auto session = open_session(true, whole_, who);
    const auto prelude = "event: endpoint\ndata: /message?sessionId=" + session->id + "\n\n";
    co_await write_stream(stream, req, session->channel->standalone(), 0, session->id, false, prelude, true);
    // The legacy session lives as long as its stream.
    if (sessions_.erase(session->id) != 0) end_session(*session);
    co_return false;
  }

  template <typename Stream>
  asio::awaitable<bool> legacy_post(Stream& stream, request& req, const session_identity& who) {
    const auto target = std::string_view(req.target().data(), req.target().size());
    const auto url = boost::urls::parse_origin_form(target);
    std::string id;
    if (url) {
      for (const auto& param : url->params()) {
        if (param.key == "sessionId") id = param.value;
      }
    }
    const auto it = sessions_.find(id);
    if (it == sessions_.end() || !it->second->legacy || it->second->principal != who.principal_name()) {
      co_return co_await respond_error(stream, req.version(), req.keep_alive(), http::status::not_found,
                                       error_code::invalid_request, "Session not found");
    }
    auto parsed = protocol::parse_message(req.body());
    if (!parsed.msg) {
      co_return co_await respond(stream, req, http::status::bad_request, protocol::serialize(*parsed.error_reply));
    }
    it->second->last_seen = clock::now();
    it->second->channel->push_inbound(std::string(req.body()));
    co_return co_await respond(stream, req, http::status::accepted, "Accepted", "text/plain");
  }

  // ---- WebSocket ----

  template <typename Stream>
  asio::awaitable<void> serve_websocket(Stream stream, request req, group_view group,
                                        session_identity who) {
    auto ws = std::make_shared<websocket::stream<Stream>>(std::move(stream));
    // The WebSocket keeps its own timeouts (handshake, idle pings); the deadline left on the
    // TCP stream by the HTTP read would otherwise cut the session off read_timeout later.
    beast::get_lowest_layer(*ws).expires_never();
    ws->set_option(websocket::stream_base::timeout::suggested(beast::role_type::server));
    ws->read_message_max(options_.max_body_bytes);
    const bool wants_mcp = std::string_view(req[http::field::sec_websocket_protocol]).find("mcp") !=
                           std::string_view::npos;
    ws->set_option(websocket::stream_base::decorator([wants_mcp](websocket::response_type& res) {
      res.set(http::field::server, "manifold");
      if (wants_mcp) res.set(http::field::sec_websocket_protocol, "mcp");
    }));
    auto [ec] = co_await ws->async_accept(req, use_tuple);
    if (ec) co_return;
    auto channel = io::make_ws_channel(ws, options_.client_limits);
    auto host = relay_.open_session(channel, std::move(group), std::move(who));
    ++websocket_sessions_;
    spdlog::info("http: WebSocket session opened");
    const auto opened = clock::now();
    if (counters_ != nullptr) {
      counters_->http_response(101);
      counters_->session_opened(observe::transport::websocket);
    }
    co_await host->run();
    if (counters_ != nullptr) counters_->session_closed(observe::transport::websocket, clock::now() - opened);
    --websocket_sessions_;
    channel->close();
  }

  // Every MCP session counts toward max_sessions, whatever its transport.
  [[nodiscard]] std::size_t session_count() const { return sessions_.size() + websocket_sessions_; }

  template <typename Stream>
  asio::awaitable<bool> too_many_sessions(Stream& stream, const request& req) {
    spdlog::warn("http: {} sessions open (http.max_sessions); a new one is refused", session_count());
    co_return co_await respond_error(stream, req.version(), false, http::status::service_unavailable,
                                     error_code::limit_exceeded, "too many sessions");
  }

  // ---- sessions ----

  std::shared_ptr<mcp_session> open_session(bool legacy, const group_view& group, const session_identity& who) {
    auto session = make_session(random_id(), legacy, group, who);
    sessions_[session->id] = session;
    if (counters_ != nullptr) counters_->session_opened(legacy ? observe::transport::sse : observe::transport::streamable_http);
    asio::co_spawn(executor_, session->host->run(), io::log_failure("HTTP session"));
    spdlog::info("http: {} session {} opened", legacy ? "legacy SSE" : "Streamable HTTP", session->id);
    return session;
  }

  // A sealed session this process does not hold, continued from its id (`token`): no
  // initialize; upstream instances of its own start when first used.
  std::unordered_map<std::string, std::shared_ptr<mcp_session>>::iterator resume_session(
      const sealed_session& sealed, const std::string& token, const std::string& key_id, const group_view& group,
      const session_identity& who) {
    auto session = make_session(sealed.sid, false, group, who);
    session->sealed = sealed;
    session->token = token;
    session->sealed_key = key_id;
    host_session_state state;
    state.protocol_version = sealed.protocol_version;
    state.client_capabilities = sealed.client_capabilities;
    state.client_info = sealed.client_info;
    state.log_level = sealed.log_level;
    state.subscriptions = sealed.subscriptions;
    session->host->resume(std::move(state));
    session->sealed_changes = session->host->state_changes();
    const auto it = sessions_.emplace(session->id, session).first;
    if (counters_ != nullptr) counters_->session_opened(observe::transport::streamable_http);
    remember_token(token, session);
    asio::co_spawn(executor_, session->host->run(), io::log_failure("HTTP session"));
    spdlog::info("http: session {} of {} continued here from its id (opened {} s ago)", session->id,
                 session->principal, portable_sessions::now() - sealed.created);
    return it;
  }

  std::shared_ptr<mcp_session> make_session(std::string id, bool legacy, const group_view& group,
                                            const session_identity& who) {
    auto session = std::make_shared<mcp_session>();
    session->id = std::move(id);
    session->token = session->id;
    session->group = group.name;
    session->legacy = legacy;
    session->channel = std::make_shared<http_channel>(session->id, options_.replay_events,
                                                      options_.client_limits.max_queued_bytes, legacy,
                                                      portable_->instance());
    if (!legacy) {
      session->channel->route_requests([weak = std::weak_ptr<portable_sessions>(portable_)]() -> std::string {
        const auto portable = weak.lock();
        return portable ? portable->route_prefix() : std::string();
      });
    }
    session->principal = who.principal_name();
    session->host = relay_.open_session(session->channel, group, who);
    return session;
  }

  // The Mcp-Session-Id to send for `s`: sealed again when what it carries changed since (the
  // host's log level, its subscriptions) or the ring seals with another key now. Clients
  // that take the id of every response (the TypeScript SDK does) carry the newest state;
  // others keep the one from initialize, which other replicas continue from.
  const std::string& current_token(mcp_session& s) {
    if (s.legacy || !portable_->enabled()) return s.token;
    const auto changes = s.host->state_changes();
    if (s.sealed && changes == s.sealed_changes && !portable_->stale_key(s.sealed_key)) return s.token;
    auto state = s.host->state();
    if (state.protocol_version.empty()) return s.token;  // not initialized (yet)
    if (s.sealed) {
      portable_sessions::update(*s.sealed, std::move(state));
    } else {
      s.sealed = portable_->fresh(s.id, s.principal, s.group, std::move(state));
    }
    s.sealed_changes = changes;
    if (auto token = portable_->seal(*s.sealed); !token.empty()) {
      s.token = std::move(token);
      s.sealed_key = portable_->sealing_key();
      remember_token(s.token, sessions_.count(s.id) != 0 ? sessions_.at(s.id) : nullptr);
    }
    return s.token;
  }

  // The session a sealed id names when this process handed it out or opened it before, it
  // is still held here and has not expired: such an id need not be opened again. Cleared
  // when the ring changes (an id sealed by a key that left must not open).
  std::shared_ptr<mcp_session> known_token(const std::string& token) {
    const auto entry = known_tokens_.find(token);
    if (entry == known_tokens_.end()) return nullptr;
    auto session = entry->second.lock();
    const auto held = session ? sessions_.find(session->id) : sessions_.end();
    if (held == sessions_.end() || held->second != session || !session->sealed ||
        portable_sessions::now() >= session->sealed->expires) {
      known_tokens_.erase(entry);
      return nullptr;
    }
    return session;
  }

  // Bounded: past a few ids per session, entries of sessions gone are dropped, and if that is
  // not enough the whole index (a cache: ids are opened again).
  void remember_token(const std::string& token, const std::shared_ptr<mcp_session>& session) {
    if (!session || token.empty()) return;
    const auto bound = 4 * std::max<std::size_t>(options_.max_sessions, 1);
    if (known_tokens_.size() >= bound) {
      std::erase_if(known_tokens_, [](const auto& entry) { return entry.second.expired(); });
      if (known_tokens_.size() >= bound) known_tokens_.clear();
    }
    known_tokens_[token] = session;
  }

  // A host's answer (`msg`, `body`) to a request manifold sent it over a sealed session. True:
  // deliver `body` (its id restored when it was routed) to `session`. False: it was relayed
  // to the replica that sent the request, or dropped (a request of an earlier instance of
  // the session, or a relay loop).
  asio::awaitable<bool> route_answer(const request& req, const mcp_session& session, const protocol::message& msg,
                                     std::string& body) {
    const auto* id = protocol::member(msg.body, "id");
    const auto route = id != nullptr ? portable_->route_of(*id) : std::nullopt;
    if (!route) co_return true;
    if (portable_->local(*route)) {
      if (route->channel != session.channel->tag()) {
        spdlog::info("http: session {}: an answer to a request sent before the session moved is dropped", session.id);
        co_return false;
      }
      auto restored = msg.body;
      restored["id"] = route->id;
      body = protocol::serialize(restored);
      co_return true;
    }
    if (req.find(relayed_header) != req.end()) {
      spdlog::warn("http: session {}: a relayed answer belongs to {}, not here; dropped", session.id, route->address);
      co_return false;
    }
    co_await relay_answer(executor_, req, route->address);
    co_return false;
  }

  void end_session(mcp_session& session) {
    if (counters_ != nullptr && !session.ended) {
      counters_->session_closed(session.legacy ? observe::transport::sse : observe::transport::streamable_http,
                                clock::now() - session.opened);
    }
    session.ended = true;
    session.host->stop();
    session.channel->close();
  }

  asio::awaitable<void> sweep_idle_sessions() {
    asio::steady_timer timer(executor_);
    sweeper_ = &timer;
    const auto period = std::clamp(options_.session_idle_timeout / 4,
                                   std::chrono::milliseconds(100), std::chrono::milliseconds(30000));
    while (!stopped_) {
      timer.expires_after(period);
      co_await timer.async_wait(use_tuple);
      const auto now = clock::now();
      for (auto it = sessions_.begin(); it != sessions_.end();) {
        auto& s = *it->second;
        const bool streaming = s.channel->standalone()->attached();
        if (s.sealed && portable_sessions::now() >= s.sealed->expires) {
          spdlog::info("http: session {} reached its lifetime (http.sessions.max_lifetime)", s.id);
          end_session(s);
          it = sessions_.erase(it);
        } else if (!s.legacy && !streaming && now - s.last_seen > options_.session_idle_timeout) {
          spdlog::info("http: session {} {} after {} ms idle", s.id,
                       s.sealed ? "forgotten here (its id still opens elsewhere)" : "expired",
                       options_.session_idle_timeout.count());
          end_session(s);
          it = sessions_.erase(it);
        } else {
          ++it;
        }
      }
    }
    sweeper_ = nullptr;
  }

  // ---- responses ----

  template <typename Stream>
  asio::awaitable<bool> respond(Stream& stream, const request& req, http::status status,
                                std::string body, std::string content_type = "application/json",
                                header_list headers = {}) {
    http::response<http::string_body> res{status, req.version()};
    res.set(http::field::server, "manifold");
    if (!content_type.empty()) res.set(http::field::content_type, content_type);
    for (const auto& [name, value] : headers) res.set(name, value);
    // A reply to a request that was in flight when the drain began closes its connection too.
    const bool keep_alive = req.keep_alive() && !draining_;
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    if (counters_ != nullptr) counters_->http_response(static_cast<int>(res.result_int()));
    beast::get_lowest_layer(stream).expires_after(options_.client_limits.write_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
    co_return !ec && keep_alive;
  }

  template <typename Stream>
  asio::awaitable<bool> respond_error(Stream& stream, unsigned version, bool keep_alive,
                                      http::status status, int code, std::string message,
                                      header_list headers = {}) {
    http::response<http::string_body> res{status, version};
    res.set(http::field::server, "manifold");
    res.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : headers) res.set(name, value);
    keep_alive = keep_alive && !draining_;
    res.keep_alive(keep_alive);
    res.body() = protocol::serialize(
        protocol::make_error(nullptr, {code, std::move(message), std::nullopt}));
    res.prepare_payload();
    if (counters_ != nullptr) counters_->http_response(static_cast<int>(res.result_int()));
    beast::get_lowest_layer(stream).expires_after(options_.client_limits.write_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
    co_return !ec && keep_alive;
  }

  asio::any_io_executor executor_;
  relay& relay_;
  backend& backend_;
  http_options options_;
  group_view whole_;  // what /mcp serves
  tcp::acceptor acceptor_;
  std::uint16_t port_ = 0;
  bool loopback_ = true;
  std::size_t stateless_in_flight_ = 0;  // 2026-07-28 requests being served
  std::set<std::shared_ptr<host_session>> stateless_hosts_;  // their sessions
  std::set<std::shared_ptr<host_session>> lingering_;  // of those, kept for pending calls (linger)
  bool stopped_ = false;
  bool draining_ = false;
  std::size_t requests_in_flight_ = 0;
  io::wake_list quiet_;  // woken when no request is in flight, and at stop()
  asio::steady_timer* sweeper_ = nullptr;
  std::unordered_map<std::string, std::shared_ptr<mcp_session>> sessions_;
  std::shared_ptr<portable_sessions> portable_;
  std::unordered_map<std::string, std::weak_ptr<mcp_session>> known_tokens_;  // known_token()
  std::shared_ptr<ssl::context> tls_;  // null: plain HTTP
  std::size_t websocket_sessions_ = 0;
  const observe::telemetry* telemetry_ = nullptr;
  observe::metrics* counters_ = nullptr;  // the listener's metrics; null: none
  // Expires with the server: frames destroyed later (by the io_context) leave the metrics be.
  std::shared_ptr<const bool> alive_ = std::make_shared<const bool>(true);
  admin_streams admin_streams_;
  int spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);  // given up to shed a connection
  std::size_t accept_failures_ = 0;
  std::size_t shed_ = 0;
  clock::time_point last_accept_log_{};
};

}  // namespace

std::unique_ptr<http_server> make_http_server(asio::any_io_executor executor, relay& relay,
                                              backend& backend, http_options options) {
  return std::make_unique<server_impl>(std::move(executor), relay, backend, std::move(options));
}

}  // namespace manifold::proxy
