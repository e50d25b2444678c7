#pragma once

// Private to proxy/: the admin endpoints (admin.hpp) on one HTTP connection, for any stream
// type (plain or TLS). The caller has checked Host, Origin and credentials. Long-lived
// responses (the page's events, the tap) are registered with the listener's admin_streams so
// that stopping the listener ends them at once.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "manifold/io/wake_list.hpp"
#include "manifold/observe/status_page.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/json_rpc.hpp"
#include "manifold/protocol/text.hpp"
#include "manifold/proxy/admin.hpp"

namespace manifold::proxy {

// The long-lived admin responses open on one listener. Thread: the io thread.
class admin_streams {
 public:
  std::uint64_t add(std::function<void()> close) {
    if (closed_) {
      close();
      return 0;
    }
    open_[++next_] = std::move(close);
    return next_;
  }
  void remove(std::uint64_t id) { open_.erase(id); }
  void close_all() {
    closed_ = true;
    auto open = std::exchange(open_, {});
    for (auto& [id, close] : open) close();
  }
  [[nodiscard]] bool closed() const { return closed_; }

 private:
  std::map<std::uint64_t, std::function<void()>> open_;
  std::uint64_t next_ = 0;
  bool closed_ = false;
};

namespace admin_detail {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using request = http::request<http::string_body>;
using clock = std::chrono::steady_clock;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::chrono::seconds status_interval{10};  // a status event at least this often
constexpr std::chrono::seconds tap_keepalive{15};
constexpr std::size_t tap_batch = 256;  // records per write
// Records that come close together share one write: the first waits this long for others
// (less once a quarter of the subscriber's ring is taken), so an attached tap costs the relay
// one write, and the tap's reader one wake-up, per batch rather than per message.
constexpr std::chrono::milliseconds tap_flush_delay{5};

inline void count(const admin_endpoints& admin, unsigned status) {
  if (admin.telemetry != nullptr && admin.telemetry->metrics != nullptr) {
    admin.telemetry->metrics->http_response(static_cast<int>(status));
  }
}

inline std::string dump(const protocol::json& value) {
  return value.dump(-1, ' ', false, protocol::json::error_handler_t::replace);
}

template <typename Stream>
asio::awaitable<bool> reply(Stream& stream, const request& req, const admin_endpoints& admin, http::status status,
                            std::string body, std::string_view content_type,
                            std::chrono::milliseconds write_timeout, bool page = false) {
  http::response<http::string_body> res{status, req.version()};
  res.set(http::field::server, "manifold");
  if (!content_type.empty()) res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  if (page) {
    res.set("Content-Security-Policy", observe::status_page_csp);
    res.set("Referrer-Policy", "no-referrer");
    res.set("X-Frame-Options", "DENY");
  }
  res.keep_alive(req.keep_alive());
  res.body() = std::move(body);
  res.prepare_payload();
  count(admin, res.result_int());
  beast::get_lowest_layer(stream).expires_after(write_timeout);
  auto [ec, n] = co_await http::async_write(stream, res, use_tuple);
  co_return !ec && req.keep_alive();
}

template <typename Stream>
asio::awaitable<bool> reply_error(Stream& stream, const request& req, const admin_endpoints& admin,
                                  http::status status, std::string message, std::chrono::milliseconds write_timeout) {
  const auto body = protocol::serialize(
      protocol::make_error(nullptr, {protocol::error_code::invalid_request, std::move(message), std::nullopt}));
  co_return co_await reply(stream, req, admin, status, body, "application/json", write_timeout);
}

// Writes the head of a streamed (chunked) response, and `first` as its first chunk.
template <typename Stream>
asio::awaitable<bool> open_stream(Stream& stream, const request& req, const admin_endpoints& admin,
                                  std::string_view content_type, const std::string& first,
                                  std::chrono::milliseconds write_timeout) {
  http::response<http::empty_body> res{http::status::ok, req.version()};
  res.set(http::field::server, "manifold");
  res.set(http::field::content_type, content_type);
  res.set(http::field::cache_control, "no-cache");
  res.set("X-Content-Type-Options", "nosniff");
  res.set("X-Accel-Buffering", "no");
  res.keep_alive(false);
  res.chunked(true);
  std::ostringstream head;
  head << res.base();
  const std::string header_text = head.str();
  count(admin, 200);
  beast::get_lowest_layer(stream).expires_after(write_timeout);
  auto [ec, n] = co_await asio::async_write(
      stream, beast::buffers_cat(asio::buffer(header_text), http::make_chunk(asio::buffer(first))), use_tuple);
  co_return !ec;
}

template <typename Stream>
asio::awaitable<bool> write_chunk(Stream& stream, const std::string& text, std::chrono::milliseconds write_timeout) {
  beast::get_lowest_layer(stream).expires_after(write_timeout);
  auto [ec, n] = co_await asio::async_write(stream, http::make_chunk(asio::buffer(text)), use_tuple);
  co_return !ec;
}

template <typename Stream>
asio::awaitable<void> end_stream(Stream& stream, std::chrono::milliseconds write_timeout) {
  beast::get_lowest_layer(stream).expires_after(write_timeout);
  co_await asio::async_write(stream, http::make_chunk_last(), use_tuple);
}

inline std::string sse_event(std::string_view name, const std::string& data) {
  std::string out = "event: ";
  out += name;
  out += "\ndata: ";
  out += data;
  out += "\n\n";
  return out;
}

// GET /ui/events: the current status, then every event as it comes, and the status again
// whenever nothing else was sent for status_interval.
template <typename Stream>
asio::awaitable<bool> page_events(Stream& stream, const request& req, const admin_endpoints& admin,
                                  admin_streams& streams, std::chrono::milliseconds write_timeout) {
  auto page = admin.events->subscribe();
  const auto registered = streams.add([weak = std::weak_ptr(page)] {
    if (auto p = weak.lock()) p->close();
  });
  std::string first = "retry: 2000\n\n";
  if (admin.status) first += sse_event("status", dump(admin.status()));
  bool alive = co_await open_stream(stream, req, admin, "text/event-stream", first, write_timeout);
  while (alive && !page->closed()) {
    const bool got = co_await page->wait_until(clock::now() + status_interval);
    if (page->closed()) break;
    std::string text;
    if (got) {
      for (const auto& e : page->take()) text += sse_event(e.name, e.data);
    } else if (admin.status) {
      text = sse_event("status", dump(admin.status()));
    } else {
      text = ": keepalive\n\n";
    }
    alive = co_await write_chunk(stream, text, write_timeout);
  }
  streams.remove(registered);
  if (alive) co_await end_stream(stream, write_timeout);
  co_return false;
}

// The filter of a tap request: ?session=&upstream=&method= (percent-decoded).
inline observe::tap_filter tap_filter_of(const request& req) {
  observe::tap_filter filter;
  const auto target = std::string_view(req.target().data(), req.target().size());
  const auto url = boost::urls::parse_origin_form(target);
  if (!url) return filter;
  for (const auto& param : url->params()) {
    if (param.key == "session") filter.session = param.value;
    if (param.key == "upstream") filter.upstream = param.value;
    if (param.key == "method") filter.method = param.value;
  }
  return filter;
}

// GET /admin/tap: records as JSON lines while the client reads. The relay never waits for
// it: records a slow client cannot take are lost, and it reads a `lost` record instead.
template <typename Stream>
asio::awaitable<bool> tap_stream(Stream& stream, const request& req, const admin_endpoints& admin,
                                 admin_streams& streams, std::chrono::milliseconds write_timeout) {
  struct reader {
    io::wake_list wake;
    bool closed = false;
  };
  auto state = std::make_shared<reader>();
  const auto executor = beast::get_lowest_layer(stream).get_executor();
  auto filter = tap_filter_of(req);
  protocol::json hello{{"type", "start"},
                       {"time", observe::rfc3339_ms(observe::unix_nanos_now() / 1'000'000)},
                       {"buffer", admin.tap_buffer},
                       {"filter", {{"session", filter.session}, {"upstream", filter.upstream}, {"method", filter.method}}}};
  auto subscription = admin.tap->subscribe(std::move(filter), admin.tap_buffer, [executor, weak = std::weak_ptr(state)] {
    asio::post(executor, [weak] {
      if (auto s = weak.lock()) s->wake.wake_all();
    });
  });
  const auto registered = streams.add([weak = std::weak_ptr(state)] {
    if (auto s = weak.lock()) {
      s->closed = true;
      s->wake.wake_all();
    }
  });
  bool alive = co_await open_stream(stream, req, admin, "application/x-ndjson", dump(hello) + "\n", write_timeout);
  while (alive && !state->closed) {
    if (subscription->pending() == 0) {
      const bool woken = co_await state->wake.wait_until(clock::now() + tap_keepalive);
      if (state->closed) break;
      if (!woken && subscription->pending() == 0) alive = co_await write_chunk(stream, "\n", write_timeout);
      continue;
    }
    if (subscription->pending() < subscription->capacity() / 4) {
      co_await state->wake.wait_until(clock::now() + tap_flush_delay);
      if (state->closed) break;
    }
    auto records = subscription->take(tap_batch);
    if (records.empty()) continue;
    std::string text;
    for (const auto& r : records) text += observe::to_json_line(*r);
    alive = co_await write_chunk(stream, text, write_timeout);
  }
  streams.remove(registered);
  if (alive) co_await end_stream(stream, write_timeout);
  co_return false;
}

}  // namespace admin_detail

// Serves one admin request; true when the connection may carry another request.
template <typename Stream>
boost::asio::awaitable<bool> serve_admin(Stream& stream, admin_detail::request& req, const std::string& path,
                                         const admin_endpoints& admin, admin_streams& streams,
                                         std::chrono::milliseconds write_timeout) {
  namespace http = admin_detail::http;
  using admin_detail::reply;
  if (req.method() != http::verb::get) {
    co_return co_await admin_detail::reply_error(stream, req, admin, http::status::method_not_allowed,
                                                 "use GET", write_timeout);
  }
  if (path == "/metrics") {
    co_return co_await reply(stream, req, admin, http::status::ok, admin.metrics(),
                             observe::metrics::content_type, write_timeout);
  }
  if (path == "/admin/tap") co_return co_await admin_detail::tap_stream(stream, req, admin, streams, write_timeout);
  if (path == "/ui/events") co_return co_await admin_detail::page_events(stream, req, admin, streams, write_timeout);
  if (path == "/ui/api/status") {
    co_return co_await reply(stream, req, admin, http::status::ok, admin_detail::dump(admin.status()),
                             "application/json", write_timeout);
  }
  if (path == "/ui/api/catalog") {
    co_return co_await reply(stream, req, admin, http::status::ok, admin_detail::dump(admin.catalog()),
                             "application/json", write_timeout);
  }
  if (path == "/ui/api/calls") {
    co_return co_await reply(stream, req, admin, http::status::ok, admin_detail::dump(admin.calls()),
                             "application/json", write_timeout);
  }
  if (path == "/") {
    http::response<http::empty_body> res{http::status::found, req.version()};
    res.set(http::field::server, "manifold");
    res.set(http::field::location, "/ui/");
    res.keep_alive(req.keep_alive());
    res.prepare_payload();
    admin_detail::count(admin, res.result_int());
    admin_detail::beast::get_lowest_layer(stream).expires_after(write_timeout);
    auto [ec, n] = co_await http::async_write(stream, res, admin_detail::use_tuple);
    co_return !ec && req.keep_alive();
  }
  const auto* asset = observe::find_status_asset(path);
  if (asset == nullptr) {
    co_return co_await admin_detail::reply_error(stream, req, admin, http::status::not_found,
                                                 "no such endpoint: " + protocol::log_safe(path, 200), write_timeout);
  }
  co_return co_await reply(stream, req, admin, http::status::ok, std::string(asset->body), asset->content_type,
                           write_timeout, true);
}

}  // namespace manifold::proxy
