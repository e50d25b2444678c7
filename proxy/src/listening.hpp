#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

// What manifold's two HTTP listeners (the MCP endpoint and the admin/metrics one) share:
// opening the acceptor, and the Host and Origin checks that keep a browser page from
// reaching a loopback listener through DNS rebinding.
namespace manifold::proxy::listening {

struct bound {
  boost::asio::ip::address address;
  std::uint16_t port = 0;  // the one the OS gave when 0 was asked for
};

// Opens, binds (SO_REUSEADDR) and listens on `address`:`port`. Throws std::runtime_error
// naming `what` ("listen", "metrics listen") for a bad address, and the address for a bind
// that fails.
bound open(boost::asio::ip::tcp::acceptor& acceptor, const std::string& address, std::uint16_t port,
           std::string_view what);

// "host:port" or "[v6]:port" -> the host part.
std::string_view host_part(std::string_view authority);

// A Host header is allowed when it is listed (with or without its port); otherwise a
// loopback listener takes only loopback names and any other listener takes any Host
// unless a list is configured.
bool host_allowed(const std::vector<std::string>& allowed, bool loopback_listener, std::string_view host);

// An Origin is allowed when listed ("*" lists all) or when it names a loopback host.
bool origin_allowed(const std::vector<std::string>& allowed, std::string_view origin);

}  // namespace manifold::proxy::listening
