#include "manifold/protocol/protocol_version.hpp"

#include <algorithm>

namespace manifold::protocol {

bool is_supported_version(std::string_view version) {
  return std::find(supported_versions.begin(), supported_versions.end(), version) !=
         supported_versions.end();
}

std::string_view negotiate_version(std::string_view requested) {
  return is_supported_version(requested) ? requested : latest_version;
}

}  // namespace manifold::protocol
