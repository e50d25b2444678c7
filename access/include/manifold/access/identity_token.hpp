#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/access/principal.hpp"
#include "manifold/config/config.hpp"

// The caller's identity as manifold forwards it to an upstream (servers.<name>.forward_identity):
// a compact JWS (HS256 under identity_signing_key) with iss "manifold", sub, roles, auth, iat,
// exp and aud (the upstream's name), never the host's own token.
namespace manifold::access {

inline constexpr std::string_view identity_issuer = "manifold";
// Where it travels: this request header (forward_identity: header) or this `_meta` key
// (forward_identity: meta).
using config::identity_header;
using config::identity_meta_key;

std::string sign_identity(const principal& who, std::string_view key, std::chrono::seconds ttl,
                          std::chrono::system_clock::time_point now, std::string_view audience = {});

struct identity_claims {
  std::string subject;
  std::vector<std::string> roles;
  std::string auth;
  std::string audience;
  std::chrono::system_clock::time_point expires;
};

// Verifies a token from sign_identity (as an upstream would): HS256 under `key`, issuer
// manifold, not expired (30 s leeway), and for `audience` when one is given. nullopt with
// `why` set otherwise.
std::optional<identity_claims> verify_identity(std::string_view token, std::string_view key,
                                               std::chrono::system_clock::time_point now, std::string_view audience,
                                               std::string& why);

}  // namespace manifold::access
