#pragma once

#include <string>
#include <string_view>

namespace manifold::io {

// Whether a URL or Host-header host names this machine's loopback interface: `localhost`,
// 127.0.0.1 or ::1 (bracketed or not), in any letter case.
bool is_loopback_host(std::string_view host);

}  // namespace manifold::io
