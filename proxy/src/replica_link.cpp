#include "replica_link.hpp"

#include <algorithm>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>
#include <spdlog/spdlog.h>

#include "manifold/io/event.hpp"
#include "manifold/io/http_client.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr std::chrono::seconds relay_timeout{10};
constexpr std::chrono::seconds notice_timeout{2};
constexpr std::size_t max_peer_addresses = 64;
constexpr std::size_t relay_read_limit = 64 * 1024;

// Request headers not passed on when a host's answer is relayed to another replica.
bool hop_by_hop(std::string_view name) {
  for (const auto* h : {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
                        "content-length", "origin", "proxy-authorization", "proxy-connection",
                        "x-manifold-relayed"}) {
    if (beast::iequals(name, h)) return true;
  }
  return false;
}

struct base_url {
  bool tls = false;
  std::string host;  // an IPv6 address without brackets
  std::string port;
};

std::optional<base_url> parse_base(const std::string& address) {
  const auto url = boost::urls::parse_uri(address);
  if (!url) return std::nullopt;
  base_url out;
  out.tls = url->scheme() == "https";
  out.host = url->host_type() == boost::urls::host_type::ipv6 ? url->host_ipv6_address().to_string()
                                                               : std::string(url->encoded_host());
  out.port = url->has_port() ? std::string(url->port()) : (out.tls ? "443" : "80");
  return out;
}

// The addresses `host` resolves to, within notice_timeout (none when it does not resolve).
asio::awaitable<std::vector<std::string>> addresses_of(asio::any_io_executor executor, const base_url& url) {
  // The timer's handler may run after this frame is gone: it holds the resolver itself.
  auto resolver = std::make_shared<tcp::resolver>(executor);
  asio::steady_timer deadline(executor, notice_timeout);
  deadline.async_wait([resolver](const boost::system::error_code& ec) {
    if (!ec) resolver->cancel();
  });
  auto [ec, results] = co_await resolver->async_resolve(url.host, url.port, asio::as_tuple(asio::use_awaitable));
  deadline.cancel();
  std::vector<std::string> out;
  if (ec) {
    spdlog::warn("http: peer {} does not resolve: {}", url.host, ec.message());
    co_return out;
  }
  for (const auto& entry : results) {
    auto text = entry.endpoint().address().to_string();
    if (std::find(out.begin(), out.end(), text) == out.end()) out.push_back(std::move(text));
  }
  co_return out;
}

// Posts `notice` to one address; failures are logged.
asio::awaitable<void> send_notice(asio::any_io_executor executor, std::shared_ptr<const std::string> notice,
                                  base_url url) {
  io::http_request out;
  out.method = "POST";
  out.tls = url.tls;
  out.host = url.host;
  out.port = url.port;
  out.target = std::string(ended_notice_path);
  out.headers.emplace_back("Content-Type", "text/plain");
  out.body = *notice;
  out.timeout = notice_timeout;
  out.read_limit = relay_read_limit;
  const auto response = co_await io::send_request(executor, std::move(out));
  if (!response.error.empty() || response.status >= 300) {
    spdlog::warn("http: telling {}:{} that a session ended failed: {}", url.host, url.port,
                 response.error.empty() ? "HTTP " + std::to_string(response.status) : response.error);
  }
}

}  // namespace

asio::awaitable<void> tell_peers(asio::any_io_executor executor, std::string notice, std::vector<std::string> peers) {
  if (notice.empty() || peers.empty()) co_return;
  std::vector<base_url> targets;
  for (const auto& peer : peers) {
    auto url = parse_base(peer);
    if (!url) continue;
    if (url->tls) {
      targets.push_back(*url);
      continue;
    }
    auto addresses = co_await addresses_of(executor, *url);
    for (auto& address : addresses) {
      auto one = *url;
      one.host = std::move(address);
      targets.push_back(std::move(one));
    }
  }
  if (targets.size() > max_peer_addresses) {
    spdlog::warn("http: {} peer addresses; only the first {} are told of ended sessions", targets.size(),
                 max_peer_addresses);
    targets.resize(max_peer_addresses);
  }
  // All at once; each send is bounded by notice_timeout, the wait by a little more.
  struct pending {
    std::size_t left = 0;
    io::event done;
  };
  auto state = std::make_shared<pending>();
  state->left = targets.size();
  const auto shared_notice = std::make_shared<const std::string>(std::move(notice));
  for (auto& target : targets) {
    asio::co_spawn(executor, send_notice(executor, shared_notice, std::move(target)),
                   [state](const std::exception_ptr& failure) {
                     if (failure) spdlog::warn("http: telling a peer that a session ended failed unexpectedly");
                     if (--state->left == 0) state->done.set();
                   });
  }
  if (!targets.empty()) co_await state->done.wait_until(std::chrono::steady_clock::now() + 2 * notice_timeout);
}

asio::awaitable<void> relay_answer(asio::any_io_executor executor,
                                   const beast::http::request<beast::http::string_body>& req, std::string address) {
  const auto url = parse_base(address);
  if (!url) co_return;
  io::http_request out;
  out.method = "POST";
  out.tls = url->tls;
  out.host = url->host;
  out.port = url->port;
  out.target = std::string(req.target());
  for (const auto& field : req) {
    if (!hop_by_hop(field.name_string())) out.headers.emplace_back(field.name_string(), field.value());
  }
  out.headers.emplace_back(relayed_header, "1");
  out.body = req.body();
  out.timeout = relay_timeout;
  out.read_limit = relay_read_limit;
  const auto response = co_await io::send_request(executor, std::move(out));
  if (!response.error.empty() || response.status >= 300) {
    spdlog::warn("http: relaying a host's answer to {} failed: {}", address,
                 response.error.empty() ? "HTTP " + std::to_string(response.status) : response.error);
  }
}

}  // namespace manifold::proxy
