#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

// JWTs that manifold signs with a private key of its own: the client assertion of
// private_key_jwt (RFC 7523) when it authenticates to an authorization server.
namespace manifold::access {

// The algorithm a PEM private key signs with when none is configured: RS256 for RSA,
// ES256/ES384/ES512 by curve, EdDSA for Ed25519. Throws std::runtime_error for an unreadable
// key or a key type JWS has no algorithm for (the message never carries key material).
std::string default_signing_algorithm(std::string_view private_key_pem);

// `claims` as a compact JWS (header {alg, typ: JWT[, kid]}) signed with the PEM private key
// under `algorithm` (RS*, PS*, ES*, EdDSA; the key must fit it). Throws std::runtime_error.
std::string sign_jwt(std::string_view private_key_pem, std::string_view algorithm, const nlohmann::json& claims,
                     std::string_view kid = {});

}  // namespace manifold::access
