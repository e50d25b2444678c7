#include "manifold/io/hosts.hpp"

#include <algorithm>
#include <cctype>

namespace manifold::io {

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

bool is_loopback_host(std::string_view host) {
  const auto h = lower_ascii(host);
  return h == "localhost" || h == "127.0.0.1" || h == "[::1]" || h == "::1";
}

}  // namespace manifold::io
