#include "manifold/access/jwt_verifier.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

#include "jws.hpp"
#include "manifold/access/digest.hpp"
#include "manifold/access/principal.hpp"
#include "manifold/protocol/json_access.hpp"

namespace manifold::access {

namespace {

namespace proto = manifold::protocol;
using clock = std::chrono::system_clock;

constexpr std::size_t header_depth = 4;
constexpr std::size_t claims_depth = 16;
constexpr std::size_t max_list_entries = 256;
constexpr std::size_t max_entry_bytes = 256;

jwt_result refuse(jwt_failure kind, std::string reason) { return {std::nullopt, {kind, std::move(reason)}}; }

std::uint32_t bit(jws_alg alg) { return 1U << static_cast<unsigned>(alg); }

struct jws_parts {
  std::string_view header_b64;
  std::string_view payload_b64;
  std::string_view signature_b64;
};

std::optional<jws_parts> split(std::string_view token, std::string& why) {
  const auto dots = static_cast<std::size_t>(std::count(token.begin(), token.end(), '.'));
  if (dots != 2) {
    why = dots == 4 ? "encrypted tokens (JWE) are not accepted"
                    : "a JWS has 3 dot-separated parts, this has " + std::to_string(dots + 1);
    return std::nullopt;
  }
  const auto first = token.find('.');
  const auto second = token.find('.', first + 1);
  return jws_parts{token.substr(0, first), token.substr(first + 1, second - first - 1), token.substr(second + 1)};
}

// A JSON object from one base64url part; null json with `why` set otherwise.
nlohmann::json decode_object(std::string_view part, std::size_t depth, std::string_view what, std::string& why) {
  const auto bytes = base64url_decode(part);
  if (!bytes) {
    why = std::string(what) + " is not base64url";
    return nullptr;
  }
  auto parsed = proto::parse_json(*bytes, depth);
  if (!parsed.ok() || !parsed.value.is_object()) {
    // parse_json's own message names the default bound, not this one.
    const auto problem = parsed.problem == proto::json_problem::too_deep ? std::string("nested too deeply") : parsed.why();
    why = std::string(what) + " is not a JSON object" + (parsed.ok() ? "" : " (" + problem + ")");
    return nullptr;
  }
  return std::move(parsed.value);
}

// A NumericDate claim in whole seconds; `present` false when absent; nullopt when malformed
// or outside [0, 10^12] (so that adding the leeway cannot overflow).
std::optional<std::int64_t> numeric_date(const nlohmann::json& claims, std::string_view name, bool& present) {
  constexpr double latest = 1e12;
  const auto* value = proto::member(claims, name);
  present = value != nullptr;
  if (value == nullptr) return 0;
  if (!value->is_number()) return std::nullopt;
  const double v = value->get<double>();
  if (!std::isfinite(v) || v < 0 || v > latest) return std::nullopt;
  return static_cast<std::int64_t>(std::floor(v));
}

// The key for a token: by kid, falling back to a kid-less key (a configured secret) when no
// key carries the kid; without a kid, the one key that fits.
const jwk* select_key(const key_set& keys, jws_alg alg, const std::optional<std::string_view>& kid, jwt_error& error) {
  if (kid) {
    const jwk* exact = nullptr;
    bool kid_known = false;
    for (const auto& key : keys.keys) {
      if (key.kid != *kid) continue;
      kid_known = true;
      if (exact == nullptr && key_fits(alg, key)) exact = &key;
    }
    if (exact != nullptr) return exact;
    if (kid_known) {
      error = {jwt_failure::algorithm_refused, std::string("the key with this kid does not verify ") +
                                                   std::string(name_of(alg))};
      return nullptr;
    }
  }
  const jwk* only = nullptr;
  std::size_t fitting = 0;
  for (const auto& key : keys.keys) {
    if ((kid && !key.kid.empty()) || !key_fits(alg, key)) continue;
    ++fitting;
    only = &key;
  }
  if (fitting == 1) return only;
  if (kid) {
    error = {jwt_failure::unknown_key, "unknown key id"};
  } else {
    error = {jwt_failure::no_key, fitting == 0 ? "no key for " + std::string(name_of(alg))
                                               : "the token has no kid and several keys could verify it"};
  }
  return nullptr;
}

std::optional<jwt_error> check_audience(const nlohmann::json& claims, const std::vector<std::string>& audiences) {
  if (audiences.empty()) return std::nullopt;
  const auto* aud = proto::member(claims, "aud");
  const auto accepted = [&](const nlohmann::json& v) {
    return v.is_string() && std::find(audiences.begin(), audiences.end(), v.get_ref<const std::string&>()) != audiences.end();
  };
  if (aud != nullptr && aud->is_array() && aud->size() <= max_list_entries &&
      std::any_of(aud->begin(), aud->end(), accepted)) {
    return std::nullopt;
  }
  if (aud != nullptr && accepted(*aud)) return std::nullopt;
  return jwt_error{jwt_failure::wrong_audience, "wrong audience"};
}

}  // namespace

jwt_settings jwt_settings::from(const config::jwt_config& cfg) {
  jwt_settings out;
  out.issuer = cfg.issuer;
  out.audiences = cfg.audiences;
  out.algorithms = cfg.algorithms;
  out.leeway = std::chrono::duration_cast<std::chrono::seconds>(cfg.leeway);
  out.roles_claim = cfg.roles_claim;
  out.principal_claim = cfg.principal_claim;
  return out;
}

jwt_verifier::jwt_verifier(jwt_settings settings) : settings_(std::move(settings)) {
  for (const auto& name : settings_.algorithms) {
    if (const auto alg = jws_alg_named(name)) allowed_ |= bit(*alg);
  }
}

const nlohmann::json* claim_at(const nlohmann::json& claims, std::string_view path) {
  if (const auto* whole = proto::member(claims, path)) return whole;
  const nlohmann::json* at = &claims;
  while (at != nullptr && !path.empty()) {
    const auto dot = path.find('.');
    at = proto::member(*at, path.substr(0, dot));
    path = dot == std::string_view::npos ? std::string_view{} : path.substr(dot + 1);
  }
  return at;
}

std::vector<std::string> string_list_claim(const nlohmann::json* value) {
  std::vector<std::string> out;
  const auto add = [&](std::string_view item) {
    if (!item.empty() && item.size() <= max_entry_bytes && out.size() < max_list_entries) out.emplace_back(item);
  };
  if (value == nullptr) return out;
  if (value->is_array()) {
    for (const auto& item : *value) {
      if (item.is_string()) add(item.get_ref<const std::string&>());
    }
  } else if (value->is_string()) {
    std::string_view text = value->get_ref<const std::string&>();
    while (!text.empty()) {
      const auto space = text.find(' ');
      add(text.substr(0, space));
      text = space == std::string_view::npos ? std::string_view{} : text.substr(space + 1);
    }
  }
  return out;
}

jwt_result jwt_verifier::verify(std::string_view token, const key_set& keys, clock::time_point now) const {
  if (token.empty()) return refuse(jwt_failure::malformed, "empty token");
  if (token.size() > settings_.max_token_bytes) return refuse(jwt_failure::malformed, "token too large");
  std::string why;
  const auto parts = split(token, why);
  if (!parts) return refuse(jwt_failure::malformed, "malformed token: " + why);
  const auto header = decode_object(parts->header_b64, header_depth, "header", why);
  if (header.is_null()) return refuse(jwt_failure::malformed, "malformed token: " + why);
  const auto alg_name = proto::string_member(header, "alg");
  if (!alg_name) return refuse(jwt_failure::malformed, "malformed token: no alg");
  const auto alg = jws_alg_named(*alg_name);
  if (!alg) return refuse(jwt_failure::algorithm_refused, "algorithm not accepted");
  if ((allowed_ & bit(*alg)) == 0) return refuse(jwt_failure::algorithm_refused, "algorithm not allowed");
  if (proto::member(header, "crit") != nullptr) return refuse(jwt_failure::malformed, "unsupported crit header");
  const auto* kid_value = proto::member(header, "kid");
  if (kid_value != nullptr && !kid_value->is_string()) return refuse(jwt_failure::malformed, "malformed token: kid");
  std::optional<std::string_view> kid;
  if (kid_value != nullptr) kid = kid_value->get_ref<const std::string&>();
  const auto signature = base64url_decode(parts->signature_b64);
  if (!signature) return refuse(jwt_failure::malformed, "malformed token: signature is not base64url");
  auto claims = decode_object(parts->payload_b64, claims_depth, "claims", why);
  if (claims.is_null()) return refuse(jwt_failure::malformed, "malformed token: " + why);

  jwt_error error;
  const auto* key = select_key(keys, *alg, kid, error);
  if (key == nullptr) return {std::nullopt, std::move(error)};
  const auto signed_part = token.substr(0, parts->header_b64.size() + 1 + parts->payload_b64.size());
  if (!verify_jws_signature(*alg, *key, signed_part, *signature)) return refuse(jwt_failure::bad_signature, "bad signature");
  return check_claims(std::move(claims), name_of(*alg), kid.value_or(""), now);
}

jwt_result jwt_verifier::check_claims(nlohmann::json claims, std::string_view alg, std::string_view kid,
                                      clock::time_point now) const {
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  const auto leeway = settings_.leeway.count();
  bool present = false;
  const auto exp = numeric_date(claims, "exp", present);
  if (!exp) return refuse(jwt_failure::malformed, "malformed token: exp");
  if (!present) return refuse(jwt_failure::missing_claim, "token has no exp");
  if (seconds > *exp + leeway) return refuse(jwt_failure::expired, "token expired");
  const auto nbf = numeric_date(claims, "nbf", present);
  if (!nbf) return refuse(jwt_failure::malformed, "malformed token: nbf");
  if (present && seconds + leeway < *nbf) return refuse(jwt_failure::not_yet_valid, "token not yet valid");
  const auto iat = numeric_date(claims, "iat", present);
  if (!iat) return refuse(jwt_failure::malformed, "malformed token: iat");
  if (present && *iat > seconds + leeway) return refuse(jwt_failure::not_yet_valid, "token issued in the future");
  if (!settings_.issuer.empty() && proto::string_member(claims, "iss") != std::optional<std::string_view>(settings_.issuer)) {
    return refuse(jwt_failure::wrong_issuer, "wrong issuer");
  }
  if (auto error = check_audience(claims, settings_.audiences)) return {std::nullopt, std::move(*error)};
  const auto* subject = claim_at(claims, settings_.principal_claim);
  if (subject == nullptr || !subject->is_string() || subject->get_ref<const std::string&>().empty() ||
      subject->get_ref<const std::string&>().size() > max_entry_bytes) {
    return refuse(jwt_failure::missing_claim, "token has no " + settings_.principal_claim);
  }
  verified_jwt out;
  out.subject = subject->get<std::string>();
  out.roles = normalized_roles(string_list_claim(claim_at(claims, settings_.roles_claim)));
  out.scopes = string_list_claim(proto::member(claims, "scope"));
  if (out.scopes.empty()) out.scopes = string_list_claim(proto::member(claims, "scp"));
  out.kid = std::string(kid);
  out.alg = std::string(alg);
  out.expires = clock::time_point(std::chrono::seconds(*exp));
  out.claims = std::move(claims);
  return {std::move(out), {}};
}

}  // namespace manifold::access
