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
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>
#include <charconv>
#include <fcntl.h>
#include <set>
#include <sstream>
#include <sys/socket.h>
#include <unistd.h>
#include <unordered_map>

#include "http_channel.hpp"
#include "manifold/io/hosts.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/modern.hpp"
#include "manifold/protocol/protocol_version.hpp"
#include "manifold/protocol/text.hpp"
#include "manifold/io/wake_list.hpp"
#include "manifold/io/ws_channel.hpp"

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

// "host:port" or "[v6]:port" -> host part.
std::string_view host_part(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.rfind(':'));
}

struct mcp_session {
  std::string id;
  std::string principal;  // who opened it: only that principal may use it
  std::string group;  // the endpoint's group ("" for /mcp)
  std::shared_ptr<http_channel> channel;
  std::shared_ptr<host_session> host;
  clock::time_point last_seen = clock::now();
  bool legacy = false;
};

class server_impl final : public http_server {
 public:
  server_impl(asio::any_io_executor executor, relay& relay, backend& backend, http_options options)
      : executor_(std::move(executor)), relay_(relay), backend_(backend),
        options_(std::move(options)), acceptor_(executor_) {
    boost::system::error_code ec;
    const auto address = asio::ip::make_address(options_.address, ec);
    if (ec) throw std::runtime_error("invalid listen address " + options_.address);
    const tcp::endpoint endpoint(address, options_.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
    if (ec) {
      throw std::runtime_error("cannot listen on " + options_.address + ":" +
                               std::to_string(options_.port) + ": " + ec.message());
    }
    port_ = acceptor_.local_endpoint().port();
    loopback_ = address.is_loopback();
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
    const auto notice = protocol::serialize(protocol::make_notification(
        "notifications/message", {{"level", "warning"},
                                  {"logger", "manifold"},
                                  {"data", "manifold is shutting down; requests in flight are answered, then "
                                           "this session ends (reconnect to continue)"}}));
    for (auto& [id, s] : sessions_) {
      s->channel->send(notice);
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
    if (sweeper_ != nullptr) sweeper_->cancel();
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
      // Requests in flight, for a drain (a standalone GET stream is not one: it never ends).
      const bool counted = req.method() != http::verb::get;
      if (counted) ++requests_in_flight_;
      const bool keep = co_await handle(stream, req);
      if (counted && --requests_in_flight_ == 0) quiet_.wake_all();
      if (!keep || !req.keep_alive() || draining_) break;
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
    for (const auto& h : options_.allowed_hosts) {
      if (beast::iequals(h, host) || beast::iequals(h, host_part(host))) return true;
    }
    if (!loopback_) return options_.allowed_hosts.empty();
    return io::is_loopback_host(host_part(host));
  }

  bool origin_allowed(const std::string& origin) const {
    for (const auto& o : options_.allowed_origins) {
      if (o == "*" || beast::iequals(o, origin)) return true;
    }
    const auto url = boost::urls::parse_uri(origin);
    if (!url) return false;
    return io::is_loopback_host(url->encoded_host());
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
      session->channel->push_inbound(std::string(req.body()));
      co_return co_await respond(stream, req, http::status::accepted, "", "");
    }
    const auto key = msg.id().dump();
    if (answers_with_json(msg.method())) {
      auto slot = std::make_shared<json_slot>();
      if (!session->channel->expect_json(key, slot)) co_return co_await duplicate_id(stream, req);
      session->channel->push_inbound(std::string(req.body()));
      co_await slot->ready.wait_until(clock::now() + options_.max_request_time);
      if (!slot->response) {
        if (session->channel->closed()) {
          co_return co_await respond_error(stream, v, keep, http::status::not_found,
                                           error_code::invalid_request, "the session ended");
        }
        co_return co_await respond(stream, req, http::status::accepted, "", "");  // cancelled
      }
      header_list headers;
      headers.emplace_back("Mcp-Session-Id", session->id);
      const auto status = status_of(*slot->response, headers);
      co_return co_await respond(stream, req, status, std::move(*slot->response), "application/json",
                                 std::move(headers));
    }
    auto events = session->channel->expect_stream(key);
    if (!events) co_return co_await duplicate_id(stream, req);
    session->channel->push_inbound(std::string(req.body()));
    co_await events->wait(0, clock::now() + quick_reply_window);
    if (const auto pending = events->since(0); events->finished() && pending.size() == 1) {
      events->delivered = pending.front().seq;
      session->channel->forget_stream(events);
      header_list headers;
      headers.emplace_back("Mcp-Session-Id", session->id);
      const auto status = status_of(pending.front().data, headers);
      co_return co_await respond(stream, req, status, pending.front().data, "application/json",
                                 std::move(headers));
    }
    co_return co_await write_stream(stream, req, events, 0, session->id, true);
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
    host->stop();  // cancels what is still running (the client closed the stream)
    channel->close();
    stateless_hosts_.erase(host);
    --stateless_in_flight_;
    co_return kept;
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
    const auto it = sessions_.find(id);
    if (it != sessions_.end() && it->second->channel->closed()) {
      // It ended itself (a client that stopped reading): gone for good.
      end_session(*it->second);
      sessions_.erase(it);
      co_await respond_error(stream, req.version(), req.keep_alive(), http::status::not_found,
                             error_code::invalid_request, "Session not found (it ended)");
      co_return false;
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
      if (!events || digits.empty() || parse_error != std::errc{} || end != digits.data() + digits.size()) {
        co_return co_await respond_error(stream, req.version(), req.keep_alive(), http::status::bad_request,
                                         error_code::invalid_request,
                                         "unknown Last-Event-ID: " + protocol::log_safe(last_event, 100));
      }
      // Resumption takes the stream over from a connection the client has given up on.
      co_return co_await write_stream(stream, req, events, seq, session->id, false);
    }
    // A new GET stream replaces an older one (a client reconnecting before the server noticed
    // its old connection died).
    auto standalone = session->channel->standalone();
    co_return co_await write_stream(stream, req, standalone, standalone->delivered, session->id, true);
  }

  template <typename Stream>
  asio::awaitable<bool> delete_mcp(Stream& stream, request& req, const group_view& group,
                                   const session_identity& who) {
    if (req["Mcp-Session-Id"].empty()) co_return co_await post_only(stream, req);
    std::shared_ptr<mcp_session> session;
    if (!co_await find_session(stream, req, std::string(req["Mcp-Session-Id"]), group, who, session)) co_return true;
    spdlog::info("http: session {} ended by the host", session->id);
    end_session(*session);
    sessions_.erase(session->id);
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
    res.keep_alive(req.keep_alive());
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
    if (ended) co_return true;
    beast::get_lowest_layer(stream).expires_after(options_.client_limits.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream, http::make_chunk_last(), use_tuple);
    co_return !ec;
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
    co_await host->run();
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
    auto session = std::make_shared<mcp_session>();
    session->id = random_id();
    session->group = group.name;
    session->legacy = legacy;
    session->channel = std::make_shared<http_channel>(session->id, options_.replay_events,
                                                      options_.client_limits.max_queued_bytes, legacy);
    session->principal = who.principal_name();
    session->host = relay_.open_session(session->channel, group, who);
    sessions_[session->id] = session;
    asio::co_spawn(executor_, session->host->run(), io::log_failure("HTTP session"));
    spdlog::info("http: {} session {} opened", legacy ? "legacy SSE" : "Streamable HTTP", session->id);
    return session;
  }

  static void end_session(mcp_session& session) {
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
        if (!s.legacy && !streaming && now - s.last_seen > options_.session_idle_timeout) {
          spdlog::info("http: session {} expired after {} ms idle", s.id, options_.session_idle_timeout.count());
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
    res.keep_alive(req.keep_alive());
    res.body() = std::move(body);
    res.prepare_payload();
    beast::get_lowest_layer(stream).expires_after(options_.client_limits.write_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
    co_return !ec && req.keep_alive();
  }

  template <typename Stream>
  asio::awaitable<bool> respond_error(Stream& stream, unsigned version, bool keep_alive,
                                      http::status status, int code, std::string message,
                                      header_list headers = {}) {
    http::response<http::string_body> res{status, version};
    res.set(http::field::server, "manifold");
    res.set(http::field::content_type, "application/json");
    for (const auto& [name, value] : headers) res.set(name, value);
    res.keep_alive(keep_alive);
    res.body() = protocol::serialize(
        protocol::make_error(nullptr, {code, std::move(message), std::nullopt}));
    res.prepare_payload();
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
  bool stopped_ = false;
  bool draining_ = false;
  std::size_t requests_in_flight_ = 0;
  io::wake_list quiet_;  // woken when no request is in flight, and at stop()
  asio::steady_timer* sweeper_ = nullptr;
  std::unordered_map<std::string, std::shared_ptr<mcp_session>> sessions_;
  std::shared_ptr<ssl::context> tls_;  // null: plain HTTP
  std::size_t websocket_sessions_ = 0;
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
