#include "manifold/access/jwt_verifier.hpp"

#include <gtest/gtest.h>

#include "manifold/access/digest.hpp"
#include "test_keys.hpp"

namespace manifold::access {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)
using json = nlohmann::json;

constexpr std::int64_t now_s = 1'800'000'000;
const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(now_s));
const std::string secret = "0123456789abcdef0123456789abcdef-hmac";

json claims(json extra = json::object()) {
  json c{{"iss", "https://idp.test"}, {"aud", "https://mcp.test/mcp"}, {"sub", "alice"},
         {"exp", now_s + 300},        {"iat", now_s - 10},              {"roles", {"dev", "ops"}}};
  for (auto& [k, v] : extra.items()) {
    if (v.is_null()) {
      c.erase(k);
    } else {
      c[k] = v;
    }
  }
  return c;
}

jwt_settings settings(std::vector<std::string> algorithms = {"RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256"}) {
  jwt_settings s;
  s.issuer = "https://idp.test";
  s.audiences = {"https://mcp.test/mcp"};
  s.algorithms = std::move(algorithms);
  s.leeway = std::chrono::seconds(60);
  return s;
}

key_set published_keys(bool with_secret = true) {
  key_set keys;
  for (const auto kind : {test_kind::rsa, test_kind::ec_p256, test_kind::ec_p384, test_kind::ed25519}) {
    std::string why;
    auto key = parse_jwk(public_jwk(shared_key(kind)), why);
    EXPECT_TRUE(key) << why;
    keys.keys.push_back(std::move(*key));
  }
  if (with_secret) keys.keys.push_back(hmac_key(secret));
  return keys;
}

jwt_result verify(const std::string& token, const jwt_settings& s = settings(), const key_set& keys = published_keys()) {
  return jwt_verifier(s).verify(token, keys, now);
}

void expect_refused(const jwt_result& r, jwt_failure kind, const std::string& reason_part) {
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error.kind, kind) << r.error.reason;
  EXPECT_NE(r.error.reason.find(reason_part), std::string::npos) << r.error.reason;
}

TEST(jwt_verifier, accepts_every_supported_algorithm) {
  const struct {
    test_kind kind;
    const char* alg;
  } cases[] = {{test_kind::rsa, "RS256"},
               {test_kind::rsa, "PS256"},
               {test_kind::ec_p256, "ES256"},
               {test_kind::ec_p384, "ES384"},
               {test_kind::ed25519, "EdDSA"}};
  for (const auto& c : cases) {
    const auto r = verify(sign_jwt(shared_key(c.kind), c.alg, claims()));
    ASSERT_TRUE(r.ok()) << c.alg << ": " << r.error.reason;
    EXPECT_EQ(r.token->subject, "alice");
    EXPECT_EQ(r.token->roles, (std::vector<std::string>{"dev", "ops"}));
    EXPECT_EQ(r.token->alg, c.alg);
  }
  const auto hs = verify(sign_hs(secret, "HS256", claims()));
  ASSERT_TRUE(hs.ok()) << hs.error.reason;
  EXPECT_EQ(hs.token->subject, "alice");
}

TEST(jwt_verifier, malformed_tokens) {
  const auto good = sign_jwt(shared_key(test_kind::rsa), "RS256", claims());
  const auto first_dot = good.find('.');
  expect_refused(verify(""), jwt_failure::malformed, "empty");
  expect_refused(verify("abc.def"), jwt_failure::malformed, "3 dot-separated parts, this has 2");
  expect_refused(verify(good + ".x"), jwt_failure::malformed, "this has 4");
  expect_refused(verify("a.b.c.d.e"), jwt_failure::malformed, "JWE");
  expect_refused(verify("*" + good.substr(1)), jwt_failure::malformed, "header is not base64url");
  expect_refused(verify(good.substr(0, first_dot) + "=" + good.substr(first_dot)), jwt_failure::malformed,
                 "base64url");
  expect_refused(verify(unsigned_parts("not json", claims().dump())), jwt_failure::malformed, "header is not a JSON");
  expect_refused(verify(unsigned_parts("[1]", claims().dump())), jwt_failure::malformed, "header is not a JSON object");
  const std::string deepest = std::string(10000, '[') + std::string(10000, ']');
  expect_refused(verify(unsigned_parts(deepest, claims().dump())), jwt_failure::malformed, "too large");
  const std::string deep = std::string(4000, '[') + std::string(4000, ']');  // fits 16 KiB
  expect_refused(verify(unsigned_parts(deep, claims().dump())), jwt_failure::malformed, "header is not a JSON");
  expect_refused(verify(unsigned_parts(R"({"alg":"RS256","x":)" + deep + "}", "{}")), jwt_failure::malformed, "nested too deeply");
  expect_refused(verify(unsigned_parts(R"({"alg":"RS256"})", R"({"a":)" + deep + "}")), jwt_failure::malformed,
                 "claims is not a JSON object (nested too deeply");
  expect_refused(verify(unsigned_parts(R"({"alg":"RS256"})", "\"claims\"")), jwt_failure::malformed,
                 "claims is not a JSON object");
  expect_refused(verify(unsigned_parts(R"({"typ":"JWT"})", "{}")), jwt_failure::malformed, "no alg");
  expect_refused(verify(unsigned_parts(R"({"alg":"RS256","kid":7})", "{}")), jwt_failure::malformed, "kid");
  expect_refused(verify(good.substr(0, good.rfind('.') + 1) + "!!"), jwt_failure::malformed, "signature");
  expect_refused(verify(std::string(17 * 1024, 'a')), jwt_failure::malformed, "too large");
  json crit_header{{"crit", {"exp"}}};
  expect_refused(verify(sign_jwt(shared_key(test_kind::rsa), "RS256", claims(), crit_header)), jwt_failure::malformed,
                 "crit");
}

TEST(jwt_verifier, wrong_signature) {
  const auto impostor = make_key(test_kind::rsa, shared_key(test_kind::rsa).kid);
  expect_refused(verify(sign_jwt(impostor, "RS256", claims())), jwt_failure::bad_signature, "bad signature");
  auto token = sign_jwt(shared_key(test_kind::ec_p256), "ES256", claims());
  token[token.size() - 3] = token[token.size() - 3] == 'A' ? 'B' : 'A';
  expect_refused(verify(token), jwt_failure::bad_signature, "bad signature");
  expect_refused(verify(sign_hs("another secret of thirty two bytes!!", "HS256", claims())), jwt_failure::bad_signature,
                 "bad signature");
  // A signature for other claims.
  const auto a = sign_jwt(shared_key(test_kind::rsa), "RS256", claims());
  const auto b = sign_jwt(shared_key(test_kind::rsa), "RS256", claims({{"sub", "mallory"}}));
  expect_refused(verify(b.substr(0, b.rfind('.')) + a.substr(a.rfind('.'))), jwt_failure::bad_signature, "signature");
}

TEST(jwt_verifier, validity_times_with_leeway) {
  const auto& key = shared_key(test_kind::rsa);
  EXPECT_TRUE(verify(sign_jwt(key, "RS256", claims({{"exp", now_s - 60}}))).ok()) << "exp within the leeway";
  expect_refused(verify(sign_jwt(key, "RS256", claims({{"exp", now_s - 61}}))), jwt_failure::expired, "expired");
  EXPECT_TRUE(verify(sign_jwt(key, "RS256", claims({{"nbf", now_s + 60}}))).ok()) << "nbf within the leeway";
  expect_refused(verify(sign_jwt(key, "RS256", claims({{"nbf", now_s + 61}}))), jwt_failure::not_yet_valid,
                 "not yet valid");
  expect_refused(verify(sign_jwt(key, "RS256", claims({{"iat", now_s + 3600}}))), jwt_failure::not_yet_valid,
                 "future");
  expect_refused(verify(sign_jwt(key, "RS256", claims({{"exp", nullptr}}))), jwt_failure::missing_claim, "no exp");
  expect_refused(verify(sign_jwt(key, "RS256", claims({{"exp", "tomorrow"}}))), jwt_failure::malformed, "exp");
  expect_refused(verify(sign_jwt(key, "RS256", claims({{"exp", 1e300}}))), jwt_failure::malformed, "exp");
  EXPECT_TRUE(verify(sign_jwt(key, "RS256", claims({{"exp", now_s + 0.5}}))).ok()) << "NumericDate may be fractional";
  auto strict = settings();
  strict.leeway = std::chrono::seconds(0);
  expect_refused(verify(sign_jwt(key, "RS256", claims({{"exp", now_s - 1}})), strict), jwt_failure::expired, "expired");
}

TEST(jwt_verifier, issuer_and_audience) {
  const auto& key = shared_key(test_kind::ec_p256);
  expect_refused(verify(sign_jwt(key, "ES256", claims({{"iss", "https://evil.test"}}))), jwt_failure::wrong_issuer,
                 "issuer");
  expect_refused(verify(sign_jwt(key, "ES256", claims({{"iss", nullptr}}))), jwt_failure::wrong_issuer, "issuer");
  expect_refused(verify(sign_jwt(key, "ES256", claims({{"aud", "https://other.test/mcp"}}))),
                 jwt_failure::wrong_audience, "audience");
  expect_refused(verify(sign_jwt(key, "ES256", claims({{"aud", nullptr}}))), jwt_failure::wrong_audience, "audience");
  expect_refused(verify(sign_jwt(key, "ES256", claims({{"aud", {"https://a.test", "https://b.test"}}}))),
                 jwt_failure::wrong_audience, "audience");
  EXPECT_TRUE(verify(sign_jwt(key, "ES256", claims({{"aud", {"https://a.test", "https://mcp.test/mcp"}}}))).ok());
  expect_refused(verify(sign_jwt(key, "ES256", claims({{"aud", {{{"x", "https://mcp.test/mcp"}}}}}))),
                 jwt_failure::wrong_audience, "audience");
}

TEST(jwt_verifier, algorithm_rules) {
  const auto& rsa = shared_key(test_kind::rsa);
  // alg none, with or without a signature.
  expect_refused(verify(unsigned_parts(R"({"alg":"none"})", claims().dump())), jwt_failure::algorithm_refused,
                 "algorithm");
  expect_refused(verify(base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(claims().dump()) + "."),
                 jwt_failure::algorithm_refused, "algorithm");
  expect_refused(verify(unsigned_parts(R"({"alg":"NONE"})", claims().dump())), jwt_failure::algorithm_refused,
                 "algorithm");
  // Not in the allowed list.
  expect_refused(verify(sign_jwt(shared_key(test_kind::ec_p256), "ES256", claims()), settings({"RS256"})),
                 jwt_failure::algorithm_refused, "not allowed");
  // HS/RS confusion: an HS256 token whose secret is the RSA public key, naming the RSA kid.
  for (const auto& fake_secret : {public_pem(rsa), public_der(rsa)}) {
    json header{{"kid", rsa.kid}};
    expect_refused(verify(sign_hs(fake_secret, "HS256", claims(), header)), jwt_failure::algorithm_refused,
                   "does not verify HS256");
    // Without a kid the only HMAC key (the configured secret) is tried, and fails.
    expect_refused(verify(sign_hs(fake_secret, "HS256", claims())), jwt_failure::bad_signature, "bad signature");
    // And with no secret configured, no key can verify HS256 at all.
    expect_refused(verify(sign_hs(fake_secret, "HS256", claims()), settings(), published_keys(false)),
                   jwt_failure::no_key, "no key for HS256");
  }
  // An RS256 token presented with the EC key's kid.
  json ec_kid{{"kid", shared_key(test_kind::ec_p256).kid}};
  expect_refused(verify(sign_jwt(rsa, "RS256", claims(), ec_kid)), jwt_failure::algorithm_refused, "RS256");
  // A JWK that names its own alg serves only that alg.
  std::string why;
  auto jwk_json = public_jwk(rsa);
  jwk_json["alg"] = "PS256";
  key_set pinned{{*parse_jwk(jwk_json, why)}};
  expect_refused(verify(sign_jwt(rsa, "RS256", claims()), settings(), pinned), jwt_failure::algorithm_refused, "RS256");
  EXPECT_TRUE(verify(sign_jwt(rsa, "PS256", claims()), settings(), pinned).ok());
}

TEST(jwt_verifier, key_selection) {
  const auto& rsa = shared_key(test_kind::rsa);
  expect_refused(verify(sign_jwt(rsa, "RS256", claims(), {{"kid", "rotated-away"}})), jwt_failure::unknown_key,
                 "unknown key id");
  // No kid: the one RSA key verifies it; with a second RSA key the choice is ambiguous.
  EVP_PKEY_up_ref(rsa.pkey.get());
  const test_key kidless{rsa.kind, "", pkey_ptr(rsa.pkey.get())};
  const auto token = sign_jwt(kidless, "RS256", claims());
  auto keys = published_keys();
  EXPECT_TRUE(verify(token, settings(), keys).ok());
  std::string why;
  keys.keys.push_back(*parse_jwk(public_jwk(shared_key(test_kind::rsa, 1)), why));
  expect_refused(verify(token, settings(), keys), jwt_failure::no_key, "several keys");
}

TEST(jwt_verifier, roles_and_scopes_from_claim_paths) {
  const auto& key = shared_key(test_kind::ed25519);
  auto s = settings();
  s.roles_claim = "realm_access.roles";
  auto r = verify(sign_jwt(key, "EdDSA", claims({{"realm_access", {{"roles", {"b", "a", "a", 5}}}}})), s);
  ASSERT_TRUE(r.ok()) << r.error.reason;
  EXPECT_EQ(r.token->roles, (std::vector<std::string>{"a", "b"})) << "sorted, unique, strings only";
  s.roles_claim = "groups";
  r = verify(sign_jwt(key, "EdDSA", claims({{"groups", {"platform"}}})), s);
  EXPECT_EQ(r.token->roles, std::vector<std::string>{"platform"});
  s.roles_claim = "scope";
  r = verify(sign_jwt(key, "EdDSA", claims({{"scope", "mcp.tools  mcp.read"}})), s);
  EXPECT_EQ(r.token->roles, (std::vector<std::string>{"mcp.read", "mcp.tools"}));
  EXPECT_EQ(r.token->scopes, (std::vector<std::string>{"mcp.tools", "mcp.read"}));
  s.roles_claim = "https://example.com/roles";
  r = verify(sign_jwt(key, "EdDSA", claims({{"https://example.com/roles", {"admin"}}})), s);
  EXPECT_EQ(r.token->roles, std::vector<std::string>{"admin"}) << "a claim named with dots is found whole";
  s.roles_claim = "realm_access.roles";
  r = verify(sign_jwt(key, "EdDSA", claims({{"realm_access", "not an object"}})), s);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r.token->roles.empty());
  r = verify(sign_jwt(key, "EdDSA", claims({{"scp", {"a", "b"}}})));
  EXPECT_EQ(r.token->scopes, (std::vector<std::string>{"a", "b"}));
  s.principal_claim = "email";
  expect_refused(verify(sign_jwt(key, "EdDSA", claims()), s), jwt_failure::missing_claim, "no email");
  r = verify(sign_jwt(key, "EdDSA", claims({{"email", "a@b.test"}})), s);
  EXPECT_EQ(r.token->subject, "a@b.test");
}

TEST(base64url, strict_decoding) {
  EXPECT_EQ(base64url_encode("hello?>"), "aGVsbG8_Pg");
  EXPECT_EQ(base64url_decode("aGVsbG8_Pg"), "hello?>");
  EXPECT_FALSE(base64url_decode("aGVsbG8_Pg=="));
  EXPECT_FALSE(base64url_decode("aGVsbG8/Pg"));
  EXPECT_FALSE(base64url_decode("aGVsbG8_Ph")) << "non-zero unused bits";
  EXPECT_FALSE(base64url_decode("a"));
  EXPECT_EQ(base64url_decode(""), "");
  for (std::size_t n = 0; n < 40; ++n) {
    const std::string bytes(n, static_cast<char>(n * 7));
    EXPECT_EQ(base64url_decode(base64url_encode(bytes)), bytes);
  }
}

}  // namespace
}  // namespace manifold::access
