#include "manifold/io/http_client.hpp"

#include <array>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace manifold::io {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

namespace {

using steady = std::chrono::steady_clock;

// Resolves and connects the TCP layer of `stream` before `deadline`.
template <typename Stream>
asio::awaitable<std::string> connect_tcp(Stream& stream, const http_request& r,
                                         steady::time_point deadline) {
  auto& layer = beast::get_lowest_layer(stream);
  tcp::resolver resolver(layer.get_executor());
  auto [rec, endpoints] =
      co_await resolver.async_resolve(r.host, r.port, asio::as_tuple(asio::use_awaitable));
  if (rec) co_return "cannot resolve " + r.host + ": " + rec.message();
  layer.expires_at(deadline);
  auto [cec, ep] = co_await layer.async_connect(endpoints, asio::as_tuple(asio::use_awaitable));
  if (cec) co_return "cannot connect to " + r.host + ":" + r.port + ": " + cec.message();
  co_return std::string();
}

// Reads a response whose 2xx body goes to r.on_body as it arrives (another status: the body,
// bounded by read_limit, is kept as usual).
template <typename Stream>
asio::awaitable<http_response> stream_body(Stream& stream, beast::flat_buffer& buffer,
                                           const http_request& r) {
  http_response out;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  auto [hec, head] = co_await http::async_read_header(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (hec) {
    out.timed_out = hec == beast::error::timeout;
    out.error = "reading the response failed: " + hec.message();
    co_return out;
  }
  out.status = static_cast<int>(parser.get().result_int());
  out.content_type = std::string(parser.get()[http::field::content_type]);
  const bool deliver = out.status >= 200 && out.status < 300;
  std::array<char, 16 * 1024> piece{};
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    beast::get_lowest_layer(stream).expires_after(r.idle_timeout);
    auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
    if (ec == http::error::need_buffer) ec = {};
    const auto got = piece.size() - parser.get().body().size;
    if (got != 0) {
      const std::string_view text(piece.data(), got);
      if (deliver) {
        if (!r.on_body(text)) co_return out;
      } else if (out.body.size() + got <= r.read_limit) {
        out.body.append(text);
      }
    }
    if (ec) {
      out.timed_out = ec == beast::error::timeout;
      out.error = "reading the response failed: " + ec.message();
      co_return out;
    }
  }
  co_return out;
}

// Writes the request and reads the response (body at most read_limit bytes).
template <typename Stream>
asio::awaitable<http_response> exchange(Stream& stream, const http_request& r,
                                        steady::time_point deadline) {
  http_response out;
  http::request<http::string_body> req{http::string_to_verb(r.method), r.target, 11};
  req.set(http::field::host,
          r.host + ((r.port == "443" && r.tls) || (r.port == "80" && !r.tls) ? "" : ":" + r.port));
  req.set(http::field::user_agent, r.user_agent);
  req.set(http::field::accept, "application/json");
  if (r.body) {
    req.set(http::field::content_type, "application/json");
    req.body() = *r.body;
  }
  for (const auto& [name, value] : r.headers) req.set(name, value);
  req.prepare_payload();
  beast::get_lowest_layer(stream).expires_at(deadline);
  auto [wec, written] =
      co_await http::async_write(stream, req, asio::as_tuple(asio::use_awaitable));
  if (wec) {
    out.error = "sending the request failed: " + wec.message();
    out.timed_out = wec == beast::error::timeout;
    co_return out;
  }
  beast::flat_buffer buffer;
  if (r.on_body) co_return co_await stream_body(stream, buffer, r);
  http::response_parser<http::string_body> parser;
  parser.body_limit(r.read_limit);
  auto [rec, read] =
      co_await http::async_read(stream, buffer, parser, asio::as_tuple(asio::use_awaitable));
  if (rec) {
    out.timed_out = rec == beast::error::timeout;
    out.error = rec == http::error::body_limit
                    ? "the response is larger than " + std::to_string(r.read_limit) + " bytes"
                    : "reading the response failed: " + rec.message();
    co_return out;
  }
  auto& res = parser.get();
  out.status = static_cast<int>(res.result_int());
  out.content_type = std::string(res[http::field::content_type]);
  out.body = std::move(res.body());
  co_return out;
}

asio::awaitable<http_response> plain(asio::any_io_executor executor, const http_request& r,
                                     std::shared_ptr<http_cancel> control,
                                     std::shared_ptr<bool> cancelled, steady::time_point deadline) {
  auto stream = std::make_shared<beast::tcp_stream>(executor);
  if (control)
    control->cancel = [weak = std::weak_ptr(stream), cancelled] {
      *cancelled = true;
      if (auto s = weak.lock()) s->cancel();
    };
  http_response out;
  auto why = co_await connect_tcp(*stream, r, deadline);
  if (!why.empty()) {
    out.error = std::move(why);
    co_return out;
  }
  out = co_await exchange(*stream, r, deadline);
  boost::system::error_code ignored;
  stream->socket().shutdown(tcp::socket::shutdown_both, ignored);
  co_return out;
}

asio::awaitable<http_response> secure(asio::any_io_executor executor, const http_request& r,
                                      std::shared_ptr<http_cancel> control,
                                      std::shared_ptr<bool> cancelled,
                                      steady::time_point deadline) {
  http_response out;
  ssl::context tls(ssl::context::tls_client);
  tls.set_default_verify_paths();
  tls.set_verify_mode(ssl::verify_peer);
  if (!r.ca_file.empty()) {
    boost::system::error_code ec;
    tls.load_verify_file(r.ca_file, ec);
    if (ec) {
      out.error = "cannot load ca_file " + r.ca_file + ": " + ec.message();
      co_return out;
    }
  }
  auto stream = std::make_shared<beast::ssl_stream<beast::tcp_stream>>(executor, tls);
  if (control)
    control->cancel = [weak = std::weak_ptr(stream), cancelled] {
      *cancelled = true;
      if (auto s = weak.lock()) beast::get_lowest_layer(*s).cancel();
    };
  auto why = co_await connect_tcp(*stream, r, deadline);
  if (!why.empty()) {
    out.error = std::move(why);
    co_return out;
  }
  // SSL_set_tlsext_host_name, without the macro's C-style cast.
  if (SSL_ctrl(stream->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
               const_cast<char*>(r.host.c_str())) !=
      1) {  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    out.error = "TLS: cannot set the server name";
    co_return out;
  }
  stream->set_verify_callback(ssl::host_name_verification(r.host));
  auto [hec] = co_await stream->async_handshake(ssl::stream_base::client,
                                                asio::as_tuple(asio::use_awaitable));
  if (hec) {
    out.error = "TLS handshake with " + r.host + " failed: " + hec.message();
    co_return out;
  }
  out = co_await exchange(*stream, r, deadline);
  co_return out;
}

}  // namespace

asio::awaitable<http_response> send_request(asio::any_io_executor executor, http_request request,
                                            std::shared_ptr<http_cancel> control) {
  const auto deadline = steady::now() + request.timeout;
  auto cancelled = std::make_shared<bool>(false);
  // Not a conditional expression: GCC 12 destroys a co_await temporary twice in one.
  http_response out;
  if (request.tls) {
    out = co_await secure(executor, request, control, cancelled, deadline);
  } else {
    out = co_await plain(executor, request, control, cancelled, deadline);
  }
  if (control) control->cancel = nullptr;
  out.cancelled = *cancelled;
  if (out.timed_out) out.error = "no response within the timeout";
  co_return out;
}

}  // namespace manifold::io
