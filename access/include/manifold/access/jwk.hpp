#pragma once

#include <cstddef>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Verification keys: public keys from a JWKS document (RFC 7517) and HMAC secrets from config.
namespace manifold::access {

enum class key_kind { rsa, ec_p256, ec_p384, ec_p521, ed25519, hmac };

std::string_view to_string(key_kind kind);

// The OpenSSL key behind a jwk; opaque outside the library.
struct key_material;

struct jwk {
  std::string kid;
  key_kind kind = key_kind::rsa;
  std::string alg;  // the JWK's own `alg`, when it names one: the key verifies only that
  std::shared_ptr<const key_material> material;
};

struct key_set {
  std::vector<jwk> keys;
};

inline constexpr std::size_t max_jwks_bytes = 1024 * 1024;
inline constexpr std::size_t max_jwks_keys = 64;

struct jwks_document {
  key_set keys;
  std::vector<std::string> skipped;  // one line per key left out, with the reason (for logs)
  std::string error;                 // the document as a whole is unusable
  [[nodiscard]] bool ok() const { return error.empty(); }
};

// Reads a JWKS document: RSA (2048 bits and more), EC P-256/P-384/P-521 and OKP Ed25519
// signing keys. Symmetric (`oct`) keys, encryption keys and unknown types are skipped with a
// reason: a published key set has no business holding a shared secret.
jwks_document parse_jwks(std::string_view text);

// One JWK object; nullopt with `why` set when it is unsupported or invalid.
std::optional<jwk> parse_jwk(const nlohmann::json& object, std::string& why);

// An HMAC secret as a key (HS256/384/512 only).
jwk hmac_key(std::string secret, std::string kid = {});

}  // namespace manifold::access
