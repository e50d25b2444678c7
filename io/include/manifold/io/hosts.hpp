#pragma once

#include <string>
#include <string_view>

namespace manifold::io {

// ASCII lowercase (host names, URL schemes, header names compare case-insensitively).
std::string lower_ascii(std::string_view text);

// Whether a URL or Host-header host names this machine's loopback interface: `localhost`,
// 127.0.0.1 or ::1 (bracketed or not), in any letter case.
bool is_loopback_host(std::string_view host);

}  // namespace manifold::io
