#include "manifold/access/identity_token.hpp"

#include "jws.hpp"
#include "manifold/access/digest.hpp"
#include "manifold/access/jwt_verifier.hpp"
#include "manifold/protocol/json_access.hpp"

namespace manifold::access {

std::string sign_identity(const principal& who, std::string_view key, std::chrono::seconds ttl,
                          std::chrono::system_clock::time_point now, std::string_view audience) {
  const auto iat = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  nlohmann::json claims{{"iss", identity_issuer}, {"sub", who.name}, {"roles", who.roles},
                        {"auth", to_string(who.method)}, {"iat", iat}, {"exp", iat + ttl.count()}};
  if (!audience.empty()) claims["aud"] = audience;
  const auto input = base64url_encode(R"({"alg":"HS256","typ":"JWT"})") + "." + base64url_encode(claims.dump());
  return input + "." + base64url_encode(sign_hmac(jws_alg::hs256, key, input));
}

std::optional<identity_claims> verify_identity(std::string_view token, std::string_view key,
                                               std::chrono::system_clock::time_point now, std::string_view audience,
                                               std::string& why) {
  jwt_settings s;
  s.issuer = std::string(identity_issuer);
  if (!audience.empty()) s.audiences = {std::string(audience)};
  s.algorithms = {"HS256"};
  s.leeway = std::chrono::seconds(30);
  const key_set keys{{hmac_key(std::string(key))}};
  auto result = jwt_verifier(std::move(s)).verify(token, keys, now);
  if (!result.ok()) {
    why = result.error.reason;
    return std::nullopt;
  }
  identity_claims out;
  out.subject = std::move(result.token->subject);
  out.roles = std::move(result.token->roles);
  out.auth = protocol::string_or(result.token->claims, "auth");
  out.audience = protocol::string_or(result.token->claims, "aud");
  out.expires = result.token->expires;
  return out;
}

}  // namespace manifold::access
