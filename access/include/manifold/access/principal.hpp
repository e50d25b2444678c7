#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

// Who is calling: the identity a host session carries from authentication to every decision.
namespace manifold::access {

enum class auth_method { anonymous, api_key, jwt, stdio };

// "anonymous", "api_key", "jwt" or "stdio" (audit records and logs).
std::string_view to_string(auth_method method);

struct principal {
  std::string name;
  std::vector<std::string> roles;  // sorted, without duplicates
  auth_method method = auth_method::anonymous;
  nlohmann::json claims;            // a JWT's verified claims; null for other methods
  std::vector<std::string> scopes;  // a JWT's `scope`/`scp`; empty for other methods
};

// `roles` sorted and deduplicated (the form principal::roles holds).
std::vector<std::string> normalized_roles(std::vector<std::string> roles);

}  // namespace manifold::access
