#include "manifold/access/principal.hpp"

#include <algorithm>

namespace manifold::access {

std::string_view to_string(auth_method method) {
  switch (method) {
    case auth_method::api_key:
      return "api_key";
    case auth_method::jwt:
      return "jwt";
    case auth_method::stdio:
      return "stdio";
    case auth_method::anonymous:
      break;
  }
  return "anonymous";
}

std::vector<std::string> normalized_roles(std::vector<std::string> roles) {
  std::sort(roles.begin(), roles.end());
  roles.erase(std::unique(roles.begin(), roles.end()), roles.end());
  return roles;
}

}  // namespace manifold::access
