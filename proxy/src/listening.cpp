#include "listening.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>
#include <stdexcept>

#include "manifold/io/hosts.hpp"

namespace manifold::proxy::listening {

namespace asio = boost::asio;

bound open(asio::ip::tcp::acceptor& acceptor, const std::string& address, std::uint16_t port,
           std::string_view what) {
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  if (ec) throw std::runtime_error("invalid " + std::string(what) + " address " + address);
  const asio::ip::tcp::endpoint endpoint(ip, port);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) throw std::runtime_error("cannot listen on " + address + ":" + std::to_string(port) + ": " + ec.message());
  return {ip, acceptor.local_endpoint().port()};
}

std::string_view host_part(std::string_view authority) {
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    return close == std::string_view::npos ? authority : authority.substr(0, close + 1);
  }
  return authority.substr(0, authority.rfind(':'));
}

bool host_allowed(const std::vector<std::string>& allowed, bool loopback_listener, std::string_view host) {
  for (const auto& h : allowed) {
    if (boost::beast::iequals(h, host) || boost::beast::iequals(h, host_part(host))) return true;
  }
  if (!loopback_listener) return allowed.empty();
  return io::is_loopback_host(host_part(host));
}

bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin) {
  for (const auto& o : allowed) {
    if (o == "*" || boost::beast::iequals(o, origin)) return true;
  }
  const auto url = boost::urls::parse_uri(origin);
  return url && io::is_loopback_host(url->encoded_host());
}

}  // namespace manifold::proxy::listening
