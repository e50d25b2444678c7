#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/access/jwk.hpp"
#include "manifold/config/config.hpp"

// JWT access tokens (RFC 7519, JWS compact form) checked the way an OAuth resource server
// must: signature by an allowed algorithm with a key of the matching type, then issuer,
// audience and validity times.
namespace manifold::access {

struct jwt_settings {
  std::string issuer;                  // `iss` must equal it
  std::vector<std::string> audiences;  // `aud` must contain one of them
  std::vector<std::string> algorithms{"RS256", "ES256", "EdDSA"};
  std::chrono::seconds leeway{60};
  std::string roles_claim = "roles";
  std::string principal_claim = "sub";
  std::size_t max_token_bytes = 16 * 1024;

  static jwt_settings from(const config::jwt_config& cfg);
};

enum class jwt_failure {
  malformed,          // not a well-formed JWS with JSON header and claims
  algorithm_refused,  // none, unknown, not allowed, or not the key's algorithm
  unknown_key,        // no key with the token's kid (a key set refresh may find it)
  no_key,             // no kid, and not exactly one key that could verify it
  bad_signature,
  expired,
  not_yet_valid,
  wrong_issuer,
  wrong_audience,
  missing_claim,      // no exp, or no principal claim
};

// Why a token was refused. `reason` is short, names no secret and may go to the client
// (error_description) as well as to the log.
struct jwt_error {
  jwt_failure kind = jwt_failure::malformed;
  std::string reason;
};

struct verified_jwt {
  std::string subject;  // the principal claim
  std::vector<std::string> roles;
  std::vector<std::string> scopes;
  nlohmann::json claims;
  std::string kid;
  std::string alg;
  std::chrono::system_clock::time_point expires;
};

struct jwt_result {
  std::optional<verified_jwt> token;
  jwt_error error;
  [[nodiscard]] bool ok() const { return token.has_value(); }
};

// Pure: no I/O, no clock of its own. Thread: immutable after construction.
class jwt_verifier {
 public:
  explicit jwt_verifier(jwt_settings settings);

  // Verifies `token` with `keys` at `now`. The header's `alg` must be allowed and fit the
  // selected key's type; `kid` selects the key (without a kid, exactly one key may fit).
  // Header and claims are parsed with a nesting bound and read through checked accessors;
  // anything wrong is an error value, never an exception.
  [[nodiscard]] jwt_result verify(std::string_view token, const key_set& keys,
                                  std::chrono::system_clock::time_point now) const;

  [[nodiscard]] const jwt_settings& settings() const { return settings_; }

 private:
  // Validity times, issuer, audience and the principal, roles and scopes of signed claims.
  [[nodiscard]] jwt_result check_claims(nlohmann::json claims, std::string_view alg, std::string_view kid,
                                        std::chrono::system_clock::time_point now) const;

  jwt_settings settings_;
  std::uint32_t allowed_ = 0;  // bit per algorithm
};

// The claim at a dot path ("realm_access.roles"); a claim whose own name holds dots
// ("https://example.com/roles") is found as a whole first. Null when absent.
const nlohmann::json* claim_at(const nlohmann::json& claims, std::string_view path);

// The strings of an array claim, or the words of a space-separated string claim (`scope`).
// Other values give none; at most 256 entries of at most 256 bytes are kept.
std::vector<std::string> string_list_claim(const nlohmann::json* value);

}  // namespace manifold::access
