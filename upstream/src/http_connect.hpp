#pragma once

// Private to upstream/: where an http(s)/ws(s) URL leads, and a connected (for TLS,
// verified) stream to it. Used by the HTTP and WebSocket transports and by the OAuth client.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <chrono>
#include <memory>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace manifold::upstream::net {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;

struct target_url {
  bool tls = false;
  std::string host;
  std::string port;
  std::string authority;  // host[:port] as the URL wrote it (no user info), for a Host header
  std::string target;     // path and query
};

inline target_url parse_target(const std::string& text) {
  const auto parsed = boost::urls::parse_uri(text);
  if (!parsed) throw std::runtime_error("invalid url " + text);
  target_url out;
  const auto scheme = std::string(parsed->scheme());
  out.tls = scheme == "https" || scheme == "wss";
  out.host = std::string(parsed->encoded_host());
  out.port = parsed->has_port() ? std::string(parsed->port()) : (out.tls ? "443" : "80");
  out.authority = parsed->has_port() ? out.host + ":" + out.port : out.host;
  out.target = std::string(parsed->encoded_path());
  if (out.target.empty()) out.target = "/";
  if (parsed->has_query()) out.target += "?" + std::string(parsed->encoded_query());
  return out;
}

// SNI: the server name for TLS (OpenSSL's macro casts in C style).
inline bool set_server_name(SSL* ssl_handle, const std::string& host) {
  return SSL_ctrl(ssl_handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                  const_cast<char*>(host.c_str())) == 1;  // NOLINT(cppcoreguidelines-pro-type-const-cast)
}

// Resolves `where`, connects `stream`'s TCP layer and, for a TLS stream, verifies the peer
// (SNI, host name) in the handshake; all within `timeout`. Throws with a readable reason.
template <typename Stream>
asio::awaitable<void> connect_stream(Stream& stream, const target_url& where, milliseconds timeout) {
  auto& tcp_layer = beast::get_lowest_layer(stream);
  // The resolver has no deadline of its own: a timer cancels it (holding it weakly, so a late
  // expiry after the resolve finished touches nothing).
  auto resolver = std::make_shared<tcp::resolver>(tcp_layer.get_executor());
  asio::steady_timer resolve_deadline(tcp_layer.get_executor(), timeout);
  resolve_deadline.async_wait([weak = std::weak_ptr<tcp::resolver>(resolver)](const boost::system::error_code& ec) {
    if (auto r = weak.lock(); r && !ec) r->cancel();
  });
  auto [rec, results] = co_await resolver->async_resolve(where.host, where.port, asio::as_tuple(asio::use_awaitable));
  resolve_deadline.cancel();
  if (rec == asio::error::operation_aborted) {
    throw std::runtime_error("cannot resolve " + where.host + " within " + std::to_string(timeout.count()) + " ms");
  }
  if (rec) throw std::runtime_error("cannot resolve " + where.host + ": " + rec.message());
  tcp_layer.expires_after(timeout);
  auto [cec, ep] = co_await tcp_layer.async_connect(results, asio::as_tuple(asio::use_awaitable));
  if (cec) throw std::runtime_error("cannot connect to " + where.host + ":" + where.port + ": " + cec.message());
  boost::system::error_code nodelay_ec;  // small writes must not wait for delayed ACKs
  tcp_layer.socket().set_option(tcp::no_delay(true), nodelay_ec);
  if constexpr (!std::is_same_v<Stream, beast::tcp_stream>) {
    if (!set_server_name(stream.native_handle(), where.host)) {
      throw std::runtime_error("TLS: cannot set the server name");
    }
    stream.set_verify_callback(ssl::host_name_verification(where.host));
    auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, asio::as_tuple(asio::use_awaitable));
    if (hec) throw std::runtime_error("TLS handshake with " + where.host + " failed: " + hec.message());
  }
  tcp_layer.expires_never();
}

}  // namespace manifold::upstream::net
