#include "manifold/io/hosts.hpp"

#include "manifold/protocol/text.hpp"

#include <algorithm>
#include <cctype>

namespace manifold::io {

bool is_loopback_host(std::string_view host) {
  const auto h = protocol::lower_ascii(host);
  return h == "localhost" || h == "127.0.0.1" || h == "[::1]" || h == "::1";
}

}  // namespace manifold::io
