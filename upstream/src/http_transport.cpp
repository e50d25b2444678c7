#include "manifold/upstream/http_transport.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <deque>
#include <spdlog/spdlog.h>
#include <stdexcept>

#include "manifold/io/event.hpp"
#include "manifold/io/frame_queue.hpp"
#include "manifold/io/outbound_queue.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/modern.hpp"
#include "manifold/protocol/text.hpp"
#include "manifold/io/ws_channel.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/sse_parser.hpp"
#include "manifold/upstream/oauth.hpp"
#include "http_connect.hpp"
#include "tool_param_headers.hpp"

namespace manifold::upstream {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using protocol::json;
using clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using net::connect_stream;
using net::parse_target;
using net::target_url;

namespace {

// A server-initiated stream (GET, legacy SSE) silent this long is reconnected (resumed with
// Last-Event-ID where the transport allows it).
constexpr milliseconds stream_idle_timeout{std::chrono::minutes(5)};

// `reference` resolved against `base` (the legacy transport's endpoint is usually relative).
std::string resolve_url(const std::string& base, const std::string& reference) {
  boost::urls::url out;
  const auto b = boost::urls::parse_uri(base);
  const auto r = boost::urls::parse_uri_reference(reference);
  if (!b || !r || !boost::urls::resolve(*b, *r, out)) return reference;
  return std::string(out.buffer());
}

template <typename Stream>
class http_client_link;

// The channel the client session sees; everything happens in the link.
template <typename Stream>
class link_channel final : public protocol::channel {
 public:
  explicit link_channel(std::shared_ptr<http_client_link<Stream>> link) : link_(std::move(link)) {}
  void send(std::string message) override;
  asio::awaitable<std::optional<protocol::frame>> receive() override;
  asio::awaitable<bool> flush(clock::time_point) override { co_return true; }
  void close_outbound() override;
  void close() override;
  [[nodiscard]] std::size_t queued() const override { return 0; }

 private:
  std::shared_ptr<http_client_link<Stream>> link_;
};

// The HTTP side of one upstream: a pool of keep-alive connections to its origin, the
// Streamable HTTP (or legacy HTTP+SSE) rules, and the inbound queue.
template <typename Stream>
class http_client_link : public std::enable_shared_from_this<http_client_link<Stream>> {
 public:
  http_client_link(asio::any_io_executor executor, const config::server_config& server,
                   const config::limits_config& limits, ssl::context* tls,
                   std::function<std::string()> subject_token)
      : executor_(std::move(executor)), server_(server), url_(parse_target(server.url)),
        max_message_(limits.max_message_bytes), tls_(tls),
        legacy_(server.transport == config::transport_kind::sse),
        may_fall_back_(server.transport == config::transport_kind::automatic),
        outbox_(limits.max_queued_bytes) {
    // Configured credentials (an Authorization header) are the user's choice; otherwise a
    // Bearer challenge starts MCP authorization unless it is switched off.
    const bool own_authorization = std::any_of(server.headers.begin(), server.headers.end(), [](const auto& h) {
      return beast::iequals(h.first, "authorization");
    });
    if (server.oauth.enabled && !own_authorization) {
      auth_ = std::make_unique<oauth::authorizer>(executor_, server, std::move(subject_token));
    }
  }

  asio::awaitable<void> open() {
    if (legacy_) co_await open_legacy();
  }

  // Messages leave in order; a notification or response is delivered before anything
  // after it is sent (the server sees `initialized` before the next request).
  void send(std::string message) {
    if (!outbox_.push(message)) {
      fail_request(protocol::parse_json(message).value,
                   "upstream '" + server_.name + "' is not taking messages as fast as they come (limits.max_queued)");
      return;
    }
    if (!sending_) {
      sending_ = true;
      asio::co_spawn(executor_, send_loop(this->shared_from_this()), io::log_failure("HTTP upstream sender"));
    }
  }

  asio::awaitable<std::optional<protocol::frame>> receive() { co_return co_await inbox_.pop(); }

  asio::awaitable<void> close(milliseconds budget) {
    if (closed_) co_return;
    closed_ = true;
    if (!session_id_.empty() && !legacy_) {
      // DELETE ends the session; best effort within the budget.
      http::request<http::empty_body> req{http::verb::delete_, url_.target, 11};
      decorate(req);
      co_await exchange_empty(std::move(req), budget);
    }
    inbox_.close();
    for (auto& c : idle_) close_stream(*c);
    idle_.clear();
  }

  void shutdown_now() {
    closed_ = true;
    inbox_.close();
  }

  [[nodiscard]] std::string end_reason() const { return end_reason_; }

 private:
  struct connection {
    explicit connection(asio::any_io_executor ex, ssl::context* tls)
        : stream(make(std::move(ex), tls)) {}
    static Stream make(asio::any_io_executor ex, ssl::context* tls) {
      if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
        (void)tls;
        return Stream(std::move(ex));
      } else {
        return Stream(std::move(ex), *tls);
      }
    }
    Stream stream;
    beast::flat_buffer buffer;
  };

  static beast::tcp_stream& lowest(Stream& s) { return beast::get_lowest_layer(s); }

  static void close_stream(connection& c) {
    boost::system::error_code ignored;
    lowest(c.stream).socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest(c.stream).close();
  }

  asio::awaitable<std::unique_ptr<connection>> acquire(const target_url& where) {
    if (&where == &url_ && !idle_.empty()) {
      auto c = std::move(idle_.back());
      idle_.pop_back();
      co_return c;
    }
    auto c = std::make_unique<connection>(executor_, tls_);
    co_await connect_stream(c->stream, where, server_.startup_timeout);
    co_return c;
  }

  void release(std::unique_ptr<connection> c, bool reusable) {
    if (reusable && !closed_ && idle_.size() < 8) {
      idle_.push_back(std::move(c));
    } else {
      close_stream(*c);
    }
  }

  template <typename Request>
  void decorate(Request& req) const {
    req.set(http::field::host, url_.host);
    req.set(http::field::user_agent, "manifold");
    for (const auto& [name, value] : server_.headers) req.set(name, value);
    if (!session_id_.empty()) req.set("Mcp-Session-Id", session_id_);
    if (!protocol_version_.empty()) req.set("MCP-Protocol-Version", protocol_version_);
    if (auth_ && !auth_->access_token().empty()) req.set(http::field::authorization, "Bearer " + auth_->access_token());
  }

  // An MCP 2026-07-28 request (its envelope names the version) stands alone: no session, and
  // the standard headers the server checks against the body (MCP-Protocol-Version,
  // Mcp-Method, Mcp-Name; on tools/call, Mcp-Param-* for the tool's x-mcp-header arguments).
  template <typename Request>
  void set_modern_headers(Request& req, const json& message) const {
    const auto* params = protocol::object_member(message, "params");
    if (params == nullptr || !protocol::modern::claims_modern(*params)) return;
    req.erase("Mcp-Session-Id");
    const auto headers = protocol::modern::headers_for(protocol::string_or(message, "method"), *params);
    const auto safe = [](const std::string& value) { return value.find_first_of("\r\n") == std::string::npos; };
    if (headers.protocol_version && safe(*headers.protocol_version)) {
      req.set("MCP-Protocol-Version", *headers.protocol_version);
    }
    if (headers.method && safe(*headers.method)) req.set("Mcp-Method", *headers.method);
    if (headers.name) req.set("Mcp-Name", *headers.name);
    if (protocol::string_or(message, "method") == "tools/call") {
      for (const auto& [name, value] : param_headers_.headers_for(*params)) req.set(name, value);
    }
  }

  // Whether `message` is a 2026-07-28 tools/list request (its answer's tools are checked for
  // x-mcp-header annotations) and, if so, whether it asks for the first page.
  static std::pair<bool, bool> lists_tools(const json& message) {
    const auto* params = protocol::object_member(message, "params");
    if (protocol::string_or(message, "method") != "tools/list" || params == nullptr ||
        !protocol::modern::claims_modern(*params)) {
      return {false, false};
    }
    return {true, protocol::member(*params, "cursor") == nullptr};
  }

  // W3C trace context: a request whose `_meta` carries a traceparent (and tracestate) sends
  // them as headers too, so that HTTP middleware on the way continues the same trace.
  template <typename Request>
  static void set_trace_headers(Request& req, const json& message) {
    const auto* params = protocol::object_member(message, "params");
    const auto* meta = params != nullptr ? protocol::object_member(*params, "_meta") : nullptr;
    if (meta == nullptr) return;
    const auto parent = protocol::string_member(*meta, "traceparent");
    if (!parent || parent->size() > 128 || parent->find_first_of("\r\n") != std::string_view::npos) return;
    req.set("traceparent", *parent);
    const auto state = protocol::string_member(*meta, "tracestate");
    if (state && state->size() <= 512 && state->find_first_of("\r\n") == std::string_view::npos) {
      req.set("tracestate", *state);
    }
  }

  // The body of a response as it arrives, handed to `on_bytes`; false when it broke, or when
  // nothing arrived for `idle` (a stalled upstream never holds a connection forever).
  template <typename OnBytes>
  asio::awaitable<bool> read_body(connection& c, http::response_parser<http::buffer_body>& parser,
                                  milliseconds idle, OnBytes on_bytes) {
    std::array<char, 16 * 1024> buf{};
    while (!parser.is_done()) {
      parser.get().body().data = buf.data();
      parser.get().body().size = buf.size();
      lowest(c.stream).expires_after(idle);
      // read_some: hand over what arrived (an SSE event), don't wait for a full buffer.
      auto [ec, n] = co_await http::async_read_some(c.stream, c.buffer, parser, use_tuple);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) co_return false;
      const auto got = buf.size() - parser.get().body().size;
      if (got > 0 && !on_bytes(std::string_view(buf.data(), got))) co_return false;
    }
    co_return true;
  }

  // Sends `req` and reads a response whose body is ignored; returns (sent, status).
  asio::awaitable<std::pair<bool, unsigned>> exchange_empty(http::request<http::empty_body> req,
                                                            milliseconds budget) {
    try {
      auto c = co_await acquire(url_);
      lowest(c->stream).expires_after(budget);
      auto [wec, wn] = co_await http::async_write(c->stream, req, use_tuple);
      if (wec) co_return std::pair{false, 0U};
      http::response_parser<http::buffer_body> parser;
      auto [hec, hn] = co_await http::async_read_header(c->stream, c->buffer, parser, use_tuple);
      if (hec) co_return std::pair{false, 0U};
      const auto status = parser.get().result_int();
      const bool ok = co_await read_body(*c, parser, budget, [](std::string_view) { return true; });
      release(std::move(c), ok && parser.get().keep_alive());
      co_return std::pair{true, status};
    } catch (const std::exception&) {
      co_return std::pair{false, 0U};
    }
  }

  static asio::awaitable<void> send_loop(std::shared_ptr<http_client_link> self) {
    while (!self->outbox_.empty() && !self->closed_) {
      auto message = self->outbox_.pop();
      // manifold's own message: valid JSON, depth-bounded like everything it relays.
      auto parsed = protocol::parse_json(message).value;
      auto identity = self->take_identity(parsed);
      if (!identity.empty()) message = protocol::serialize(parsed);
      const bool request = parsed.is_object() && parsed.contains("method") && parsed.contains("id");
      if (request) {
        asio::co_spawn(self->executor_, self->post(std::move(message), std::move(parsed), std::move(identity)),
                       io::log_failure("HTTP upstream request"));
      } else {
        co_await self->post(std::move(message), std::move(parsed), std::move(identity));
      }
    }
    self->sending_ = false;
  }

  // Answers request `message` with a JSON-RPC error on the upstream's behalf, so the caller
  // learns at once why it will get no answer.
  void fail_request(const json& message, const std::string& why,
                    int code = protocol::error_code::connection_closed) {
    spdlog::warn("[{}] {}", server_.name, protocol::log_safe(why));
    if (!message.is_object() || !message.contains("id") || !message.contains("method")) return;
    inbox_.push(protocol::serialize(protocol::make_error(message["id"], {code, why, std::nullopt})));
  }

  // forward_identity: header moves the signed identity from the request's `_meta` into the
  // X-Manifold-Identity header; returns it ("" when there is none).
  std::string take_identity(json& message) const {
    if (server_.forward_identity != config::forward_identity_mode::header) return {};
    auto* params = protocol::member(message, "params");
    auto* meta = params != nullptr ? protocol::member(*params, "_meta") : nullptr;
    auto* token = meta != nullptr ? protocol::member(*meta, config::identity_meta_key) : nullptr;
    if (token == nullptr || !token->is_string()) return {};
    auto out = token->get<std::string>();
    meta->erase(std::string(config::identity_meta_key));
    if (meta->empty()) params->erase("_meta");
    return out;
  }

  asio::awaitable<void> post(std::string body, json message, std::string identity) {
    if (legacy_) {
      co_await post_legacy(std::move(body), message);
      co_return;
    }
    const bool initialize = message.value("method", std::string()) == "initialize";
    if (initialize) initialize_request_ = body;
    int authorizations = 0;
    for (int attempt = 0; attempt < 2; ++attempt) {
      auth_challenge challenge;
      const auto outcome = co_await post_once(body, message, &challenge, identity);
      if (outcome == post_outcome::done) co_return;
      if (outcome == post_outcome::auth_required) {
        // 401, or 403 insufficient_scope: authorize (or step up), then send it again. At most
        // twice for one request: a server that keeps refusing fresh tokens gets an error.
        std::string why = "the upstream refused the new token too (HTTP " + std::to_string(challenge.status) + ")";
        if (authorizations++ < 2) {
          why = co_await auth_->handle_challenge(challenge.status, challenge.header, challenge.token);
        }
        if (!why.empty()) {
          fail_request(message, "upstream '" + server_.name + "' needs authorization: " + why);
          co_return;
        }
        --attempt;
        continue;
      }
      if (outcome == post_outcome::fall_back && may_fall_back_ && initialize) {
        spdlog::info("[{}] no Streamable HTTP here; trying the HTTP+SSE transport", server_.name);
        legacy_ = true;
        try {
          co_await open_legacy();
        } catch (const std::exception& e) {
          fail_request(message, std::string("HTTP+SSE fallback failed: ") + e.what());
          co_return;
        }
        co_await post_legacy(std::move(body), message);
        co_return;
      }
      if (outcome != post_outcome::session_lost || initialize || initialize_request_.empty()) break;
      // The server forgot our session: start a new one, then retry once.
      spdlog::warn("[{}] session {} is gone (404); initializing a new one", server_.name, protocol::log_safe(session_id_, 100));
      session_id_.clear();
      const auto init = protocol::parse_json(initialize_request_).value;
      swallow_ = init["id"].dump();
      if (co_await post_once(initialize_request_, init) != post_outcome::done) break;
      const auto initialized = protocol::serialize(protocol::make_notification("notifications/initialized", nullptr));
      co_await post_once(initialized, protocol::parse_json(initialized).value);
    }
    fail_request(message, "upstream '" + server_.name + "' refused the request over HTTP");
  }

  enum class post_outcome { done, session_lost, fall_back, failed, auth_required };
  // What a 401 or 403 said, for the authorizer.
  struct auth_challenge {
    unsigned status = 0;
    std::string header;  // WWW-Authenticate
    std::string token;   // the token the request carried
  };

  asio::awaitable<post_outcome> post_once(const std::string& body, const json& message,
                                          auth_challenge* challenge = nullptr,
                                          const std::string& identity = {}) {
    std::unique_ptr<connection> c;
    std::string error;
    try {
      c = co_await acquire(url_);
    } catch (const std::exception& e) {
      error = e.what();
    }
    if (!c) {
      fail_request(message, "upstream '" + server_.name + "': " + error);
      co_return post_outcome::done;
    }
    http::request<http::string_body> req{http::verb::post, url_.target, 11};
    decorate(req);
    set_trace_headers(req, message);
    set_modern_headers(req, message);
    if (!identity.empty()) req.set(config::identity_header, identity);
    const std::string token_used = auth_ ? auth_->access_token() : std::string();
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json, text/event-stream");
    req.keep_alive(true);
    req.body() = body;
    req.prepare_payload();
    lowest(c->stream).expires_after(server_.timeout);
    auto [wec, wn] = co_await http::async_write(c->stream, req, use_tuple);
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    boost::system::error_code hec;
    if (!wec) std::tie(hec, std::ignore) = co_await http::async_read_header(c->stream, c->buffer, parser, use_tuple);
    if (wec || hec) {
      // A reused keep-alive connection may have been closed by the server: retry on a new one.
      close_stream(*c);
      if (!retried_stale_) {
        retried_stale_ = true;
        auto again = co_await post_once(body, message, challenge, identity);
        retried_stale_ = false;
        co_return again;
      }
      fail_request(message, "upstream '" + server_.name + "' connection failed: " + (wec ? wec : hec).message());
      co_return post_outcome::done;
    }
    const auto status = parser.get().result_int();
    spdlog::debug("[{}] POST {} -> HTTP {} {}", server_.name, protocol::string_or(message, "method", "(response)"),
                  status, protocol::log_safe(parser.get()[http::field::content_type], 100));
    if (const auto sid = parser.get()["Mcp-Session-Id"]; !sid.empty()) session_id_ = std::string(sid);
    const auto type = std::string(parser.get()[http::field::content_type]);
    std::string text;
    const bool sse = type.find("text/event-stream") != std::string::npos;
    protocol::sse_parser events(max_message_);
    bool got_response = false;
    long retry_ms = 1000;  // until the server says otherwise (`retry:`)
    const auto request_key = message.contains("id") ? message["id"].dump() : std::string();
    const auto [listing, first_page] = lists_tools(message);
    const auto answer = listing ? (first_page ? answer_kind::first_tools_page : answer_kind::tools_page)
                                : answer_kind::other;
    bool too_large = false;
    // Between two pieces of an answer, at most the request's own deadline passes.
    const bool complete = co_await read_body(*c, parser, server_.timeout, [&](std::string_view bytes) {
      if (!sse) {
        too_large = text.size() + bytes.size() > max_message_;
        if (too_large) return false;
        text.append(bytes);
        return true;
      }
      events.append(bytes);
      while (auto e = events.next()) {
        if (e->retry) retry_ms = *e->retry;
        if (e->event == "message" && !e->data.empty()) got_response |= deliver(e->data, request_key, answer);
      }
      return !events.error();
    });
    release(std::move(c), complete && parser.get().keep_alive());
    if (too_large || events.error()) {
      // Hardening 12: the caller hears at once that the answer cannot be relayed.
      fail_request(message, "upstream '" + server_.name + "' answered with a message over the limit of " +
                                std::to_string(max_message_) + " bytes (limits.max_message_size)",
                   protocol::error_code::limit_exceeded);
      co_return post_outcome::done;
    }
    if (status < 300 && message.value("method", "") == "notifications/initialized" && !listening_) {
      // The session is set up: open the stream for server-initiated messages.
      listening_ = true;
      asio::co_spawn(executor_, listen(this->shared_from_this()), io::log_failure("HTTP upstream listener"));
    }
    if (status == 404 && !session_id_.empty() && message.value("method", "") != "initialize") {
      co_return post_outcome::session_lost;
    }
    if (status == 400 || status == 404 || status == 405) {
      if (message.value("method", "") == "initialize") co_return post_outcome::fall_back;
    }
    if ((status == 401 || status == 403) && auth_ && challenge != nullptr) {
      const auto header = std::string(parser.get()[http::field::www_authenticate]);
      if (status == 401 || header.find("insufficient_scope") != std::string::npos) {
        *challenge = {status, header, token_used};
        co_return post_outcome::auth_required;
      }
    }
    if (status < 300 && !token_used.empty()) auth_->note_success();
    if (status >= 400) {
      // A JSON-RPC error body is the answer; anything else becomes one.
      if (!sse && !text.empty() && deliver(text, request_key, answer)) co_return post_outcome::done;
      fail_request(message, "upstream '" + server_.name + "' answered HTTP " + std::to_string(status));
      co_return post_outcome::done;
    }
    if (!sse) {
      if (!text.empty()) deliver(text, request_key, answer);
      co_return post_outcome::done;
    }
    if (!got_response && !request_key.empty()) {
      // The server ended the stream before the answer (SSE polling): resume it.
      co_await resume(events.last_event_id(), request_key, retry_ms);
    }
    co_return post_outcome::done;
  }

  // What the answer to a request is, for deliver().
  enum class answer_kind { other, first_tools_page, tools_page };

  // Hands one message to the client session (a response to a re-initialize is swallowed);
  // true when it answers `request_key`. Notes the negotiated protocol version. The answer to
  // a 2026-07-28 tools/list (`answer`) loses the tools whose x-mcp-header annotations are
  // invalid, and the others' annotations are kept for their calls' Mcp-Param-* headers.
  bool deliver(const std::string& text, const std::string& request_key, answer_kind answer = answer_kind::other) {
    auto parsed = protocol::parse_json(text).value;
    if (parsed.is_discarded()) {
      spdlog::warn("[{}] sent a body that is not JSON; ignored: {}", server_.name, protocol::log_safe(text, 200));
      return false;
    }
    if (!parsed.is_object()) return false;
    const auto key = parsed.contains("id") && !parsed.contains("method") ? parsed["id"].dump() : std::string();
    if (!key.empty() && parsed.contains("result") && parsed["result"].is_object() &&
        parsed["result"].contains("protocolVersion") && parsed["result"]["protocolVersion"].is_string()) {
      protocol_version_ = parsed["result"]["protocolVersion"].template get<std::string>();
    }
    spdlog::trace("[{}] -> {}", server_.name, protocol::log_safe(text, 300));
    if (!key.empty() && key == swallow_) {
      swallow_.clear();
      return true;
    }
    if (answer != answer_kind::other && !key.empty() && key == request_key) {
      if (auto* result = protocol::member(parsed, "result"); result != nullptr && result->is_object() &&
          param_headers_.take_listing(*result, answer == answer_kind::first_tools_page, server_.name)) {
        inbox_.push(protocol::serialize(parsed));
        return true;
      }
    }
    inbox_.push(text);
    return !key.empty() && key == request_key;
  }

  // GET with Last-Event-ID until the answer to `request_key` arrives (bounded retries).
  asio::awaitable<void> resume(std::string last_id, const std::string& request_key, long retry_ms) {
    for (int attempt = 0; attempt < 20 && !closed_; ++attempt) {
      asio::steady_timer wait(executor_, milliseconds(retry_ms));
      co_await wait.async_wait(use_tuple);
      const auto [answered, id] = co_await get_stream(last_id, request_key, &retry_ms);
      if (answered) co_return;
      if (!id.empty()) last_id = id;
    }
    json dummy = {{"id", protocol::parse_json(request_key).value}, {"method", "resume"}};
    fail_request(dummy, "upstream '" + server_.name + "' stream ended without an answer");
  }

  // One GET stream: returns (answered request_key, last event id).
  asio::awaitable<std::pair<bool, std::string>> get_stream(const std::string& last_id,
                                                           const std::string& request_key,
                                                           long* retry_ms) {
    std::unique_ptr<connection> c;
    try {
      c = co_await acquire(url_);
    } catch (const std::exception&) {
      co_return std::pair{false, last_id};
    }
    http::request<http::empty_body> req{http::verb::get, url_.target, 11};
    decorate(req);
    req.set(http::field::accept, "text/event-stream");
    if (!last_id.empty()) req.set("Last-Event-ID", last_id);
    lowest(c->stream).expires_after(server_.timeout);
    auto [wec, wn] = co_await http::async_write(c->stream, req, use_tuple);
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    boost::system::error_code hec;
    if (!wec) std::tie(hec, std::ignore) = co_await http::async_read_header(c->stream, c->buffer, parser, use_tuple);
    if (wec || hec) {
      close_stream(*c);
      co_return std::pair{false, last_id};
    }
    const auto status = parser.get().result_int();
    if (status != 200) {
      if (status == 405) get_unsupported_ = true;
      co_await read_body(*c, parser, server_.timeout, [](std::string_view) { return true; });
      close_stream(*c);
      co_return std::pair{false, last_id};
    }
    protocol::sse_parser events(max_message_);
    bool answered = false;
    co_await read_body(*c, parser, stream_idle_timeout, [&](std::string_view bytes) {
      events.append(bytes);
      while (auto e = events.next()) {
        if (e->retry && retry_ms != nullptr) *retry_ms = *e->retry;
        if (e->event == "message" && !e->data.empty()) answered |= deliver(e->data, request_key);
      }
      return !events.error() && !closed_;
    });
    close_stream(*c);
    co_return std::pair{answered, events.last_event_id().empty() ? last_id : events.last_event_id()};
  }

  // The standalone GET stream for server-initiated messages, resumed after drops.
  static asio::awaitable<void> listen(std::shared_ptr<http_client_link> self) {
    std::string last_id;
    long retry_ms = 1000;
    int failures = 0;
    while (!self->closed_ && !self->get_unsupported_ && failures < 50) {
      const auto started = clock::now();
      const auto [answered, id] = co_await self->get_stream(last_id, std::string(), &retry_ms);
      (void)answered;
      if (!id.empty()) last_id = id;
      if (self->closed_ || self->get_unsupported_) break;
      failures = clock::now() - started > std::chrono::seconds(5) ? 0 : failures + 1;
      asio::steady_timer wait(self->executor_, milliseconds(std::min(retry_ms * (1 + failures), 30'000L)));
      co_await wait.async_wait(use_tuple);
    }
  }

  // ---- 2024-11-05 HTTP+SSE ----

  asio::awaitable<void> open_legacy() {
    auto c = co_await acquire(url_);
    http::request<http::empty_body> req{http::verb::get, url_.target, 11};
    decorate(req);
    req.set(http::field::accept, "text/event-stream");
    lowest(c->stream).expires_after(server_.timeout);
    auto [wec, wn] = co_await http::async_write(c->stream, req, use_tuple);
    if (wec) throw std::runtime_error("GET " + server_.url + " failed: " + wec.message());
    auto parser = std::make_unique<http::response_parser<http::buffer_body>>();
    parser->body_limit(boost::none);
    auto [hec, hn] = co_await http::async_read_header(c->stream, c->buffer, *parser, use_tuple);
    if (hec || parser->get().result_int() != 200) {
      throw std::runtime_error("GET " + server_.url + " did not open an event stream");
    }
    endpoint_ready_ = std::make_shared<io::event>();
    asio::co_spawn(executor_, legacy_stream(this->shared_from_this(), std::move(c), std::move(parser)),
                   io::log_failure("HTTP+SSE upstream stream"));
    if (!co_await endpoint_ready_->wait_until(clock::now() + server_.startup_timeout) || endpoint_.empty()) {
      throw std::runtime_error("the event stream sent no `endpoint` event");
    }
  }

  static asio::awaitable<void> legacy_stream(std::shared_ptr<http_client_link> self,
                                             std::unique_ptr<connection> c,
                                             std::unique_ptr<http::response_parser<http::buffer_body>> parser) {
    protocol::sse_parser events(self->max_message_);
    co_await self->read_body(*c, *parser, stream_idle_timeout, [&](std::string_view bytes) {
      events.append(bytes);
      while (auto e = events.next()) {
        if (e->event == "endpoint") {
          self->endpoint_ = resolve_url(self->server_.url, e->data);
          self->endpoint_ready_->set();
        } else if (e->event == "message" && !e->data.empty()) {
          self->deliver(e->data, std::string());
        }
      }
      return !events.error() && !self->closed_;
    });
    close_stream(*c);
    self->end_reason_ = "its event stream ended";
    self->endpoint_ready_->set();
    self->inbox_.close();
  }

  asio::awaitable<void> post_legacy(std::string body, json message) {
    target_url where;
    try {
      where = parse_target(endpoint_);
    } catch (const std::exception& e) {
      fail_request(message, e.what());
      co_return;
    }
    std::unique_ptr<connection> c;
    try {
      c = co_await acquire(where);
    } catch (const std::exception& e) {
      fail_request(message, std::string("upstream '") + server_.name + "': " + e.what());
      co_return;
    }
    http::request<http::string_body> req{http::verb::post, where.target, 11};
    decorate(req);
    set_trace_headers(req, message);
    req.set(http::field::content_type, "application/json");
    req.body() = std::move(body);
    req.prepare_payload();
    lowest(c->stream).expires_after(server_.timeout);
    auto [wec, wn] = co_await http::async_write(c->stream, req, use_tuple);
    http::response<http::string_body> res;
    boost::system::error_code rec;
    if (!wec) std::tie(rec, std::ignore) = co_await http::async_read(c->stream, c->buffer, res, use_tuple);
    close_stream(*c);
    if (wec || rec || res.result_int() >= 300) {
      fail_request(message, "upstream '" + server_.name + "' refused a message: HTTP " +
                                std::to_string(res.result_int()));
    }
  }

  asio::any_io_executor executor_;
  config::server_config server_;
  target_url url_;
  std::size_t max_message_;
  ssl::context* tls_;
  bool legacy_;
  bool may_fall_back_;
  io::frame_queue inbox_;
  io::outbound_queue outbox_;
  bool sending_ = false;
  bool closed_ = false;
  bool listening_ = false;
  bool get_unsupported_ = false;
  bool retried_stale_ = false;
  std::vector<std::unique_ptr<connection>> idle_;
  std::string session_id_;
  std::string protocol_version_;
  std::string initialize_request_;
  std::string swallow_;
  std::string endpoint_;
  std::shared_ptr<io::event> endpoint_ready_;
  std::string end_reason_;
  std::unique_ptr<oauth::authorizer> auth_;  // null: no MCP authorization for this upstream
  tool_param_headers param_headers_;         // a 2026-07-28 server's tools' x-mcp-header annotations
};

template <typename Stream>
void link_channel<Stream>::send(std::string message) { link_->send(std::move(message)); }
template <typename Stream>
asio::awaitable<std::optional<protocol::frame>> link_channel<Stream>::receive() {
  co_return co_await link_->receive();
}
template <typename Stream>
void link_channel<Stream>::close_outbound() { link_->shutdown_now(); }
template <typename Stream>
void link_channel<Stream>::close() { link_->shutdown_now(); }

template <typename Stream>
class http_transport final : public transport {
 public:
  http_transport(asio::any_io_executor executor, const config::server_config& server,
                 const config::limits_config& limits, std::function<std::string()> subject_token)
      : tls_(ssl::context::tls_client) {
    tls_.set_default_verify_paths();
    tls_.set_verify_mode(ssl::verify_peer);
    link_ = std::make_shared<http_client_link<Stream>>(std::move(executor), server, limits, &tls_,
                                                       std::move(subject_token));
  }
  ~http_transport() override { link_->shutdown_now(); }

  asio::awaitable<std::shared_ptr<protocol::channel>> open() override {
    co_await link_->open();
    co_return std::make_shared<link_channel<Stream>>(link_);
  }
  asio::awaitable<void> close(milliseconds budget) override { co_await link_->close(budget); }
  [[nodiscard]] std::string end_reason() const override { return link_->end_reason(); }

 private:
  ssl::context tls_;
  std::shared_ptr<http_client_link<Stream>> link_;
};

}  // namespace

std::unique_ptr<transport> make_http_transport(asio::any_io_executor executor,
                                               const config::server_config& server,
                                               const config::limits_config& limits,
                                               std::function<std::string()> subject_token) {
  if (parse_target(server.url).tls) {
    return std::make_unique<http_transport<beast::ssl_stream<beast::tcp_stream>>>(
        std::move(executor), server, limits, std::move(subject_token));
  }
  return std::make_unique<http_transport<beast::tcp_stream>>(std::move(executor), server, limits,
                                                             std::move(subject_token));
}

}  // namespace manifold::upstream

namespace manifold::upstream {

namespace {

template <typename Stream>
class websocket_transport final : public transport {
 public:
  using ws_type = beast::websocket::stream<Stream>;

  websocket_transport(asio::any_io_executor executor, const config::server_config& server,
                      const config::limits_config& limits)
      : executor_(std::move(executor)), server_(server), limits_(limits),
        tls_(ssl::context::tls_client) {
    tls_.set_default_verify_paths();
    tls_.set_verify_mode(ssl::verify_peer);
  }

  asio::awaitable<std::shared_ptr<protocol::channel>> open() override {
    const auto url = parse_target(server_.url);
    std::shared_ptr<ws_type> ws;
    if constexpr (std::is_same_v<Stream, beast::tcp_stream>) {
      ws = std::make_shared<ws_type>(executor_);
    } else {
      ws = std::make_shared<ws_type>(executor_, tls_);
    }
    co_await connect_stream(ws->next_layer(), url, server_.startup_timeout);
    ws->set_option(beast::websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws->read_message_max(limits_.max_message_bytes);
    const auto headers = server_.headers;
    ws->set_option(beast::websocket::stream_base::decorator([headers](beast::websocket::request_type& req) {
      req.set(http::field::sec_websocket_protocol, "mcp");
      req.set(http::field::user_agent, "manifold");
      for (const auto& [name, value] : headers) req.set(name, value);
    }));
    auto [hsec] = co_await ws->async_handshake(url.host + ":" + url.port, url.target, use_tuple);
    if (hsec) throw std::runtime_error("WebSocket handshake with " + server_.url + " failed: " + hsec.message());
    channel_ = io::make_ws_channel(ws, {limits_.max_queued_bytes, limits_.write_timeout});
    co_return channel_;
  }

  asio::awaitable<void> close(milliseconds) override {
    if (channel_) channel_->close();
    co_return;
  }
  [[nodiscard]] std::string end_reason() const override { return {}; }

 private:
  asio::any_io_executor executor_;
  config::server_config server_;
  config::limits_config limits_;
  ssl::context tls_;
  std::shared_ptr<protocol::channel> channel_;
};

}  // namespace

std::unique_ptr<transport> make_websocket_transport(asio::any_io_executor executor,
                                                    const config::server_config& server,
                                                    const config::limits_config& limits) {
  if (parse_target(server.url).tls) {
    return std::make_unique<websocket_transport<beast::ssl_stream<beast::tcp_stream>>>(
        std::move(executor), server, limits);
  }
  return std::make_unique<websocket_transport<beast::tcp_stream>>(std::move(executor), server,
                                                                  limits);
}

}  // namespace manifold::upstream
