#include "manifold/access/authenticator.hpp"

#include <gtest/gtest.h>

#include <map>

#include "manifold/access/api_key_store.hpp"
#include "manifold/access/resource_metadata.hpp"
#include "test_keys.hpp"

namespace manifold::access {
namespace {

namespace asio = boost::asio;
using namespace testing;  // NOLINT(google-build-using-namespace)
using json = nlohmann::json;

constexpr std::int64_t now_s = 1'800'000'000;
const std::string ci_key = "mfd_ci-bot-key-0123456789abcdefghijklmnopqrstu";
const std::string ops_key = "mfd_ops-key-0123456789abcdefghijklmnopqrstuvwx";

TEST(api_keys, hash_and_verify) {
  const auto key = generate_api_key();
  EXPECT_EQ(key.rfind("mfd_", 0), 0U);
  EXPECT_EQ(key.size(), 4U + 43U);
  EXPECT_NE(generate_api_key(), key);
  const auto hash = hash_api_key(key);
  ASSERT_EQ(hash.size(), 7U + 32U + 1U + 64U) << hash;
  EXPECT_EQ(hash.rfind("sha256$", 0), 0U);
  EXPECT_EQ(hash.find(key), std::string::npos);
  EXPECT_NE(hash_api_key(key), hash) << "a fresh salt each time";
  EXPECT_EQ(hash_api_key("k", std::string(16, '\x01')), hash_api_key("k", std::string(16, '\x01')));

  const api_key_store store({{"ci", hash, {"dev", "admin", "dev"}, {}},
                             {"ops", hash_api_key(ops_key), {"ops"}, {}},
                             {"broken", "sha256$zz$00", {}, {}}});
  EXPECT_EQ(store.size(), 2U) << "malformed hashes are skipped";
  const auto* found = store.find(key);
  ASSERT_NE(found, nullptr);
  EXPECT_EQ(found->principal, "ci");
  EXPECT_EQ(found->roles, (std::vector<std::string>{"admin", "dev"}));
  EXPECT_EQ(store.find(ops_key)->principal, "ops");
  EXPECT_EQ(store.find(key.substr(0, key.size() - 1)), nullptr);
  EXPECT_EQ(store.find(""), nullptr);
  EXPECT_EQ(store.find(hash), nullptr) << "the hash is not the key";
}

TEST(api_keys, verification_stays_within_budget) {
  std::vector<config::api_key_config> keys;
  for (int i = 0; i < 10; ++i) keys.push_back({"p" + std::to_string(i), hash_api_key(generate_api_key()), {}, {}});
  const api_key_store store(keys);
  const auto probe = generate_api_key();
  const auto started = std::chrono::steady_clock::now();
  constexpr int rounds = 2000;
  for (int i = 0; i < rounds; ++i) EXPECT_EQ(store.find(probe), nullptr);
  const auto per_key = (std::chrono::steady_clock::now() - started) / (rounds * 10);
  // Budget: 10 µs a call; one key's hash is far below 1 µs on any machine this runs on (the
  // bound is loose so that sanitizer builds pass too).
  EXPECT_LT(per_key, std::chrono::microseconds(5));
}

struct authenticator_test : ::testing::Test {
  asio::io_context io;
  config::auth_config cfg;
  std::string secret = std::string(40, 'S');

  authenticator_test() {
    cfg.api_keys = {{"ci-bot", hash_api_key(ci_key), {"dev"}, {}}};
    cfg.jwt.issuer = "https://idp.test";
    cfg.jwt.audiences = {"https://mcp.test/mcp"};
    cfg.jwt.hs256_secret = secret;
    cfg.jwt.algorithms = {"RS256", "HS256"};
    cfg.resource.url = "https://mcp.test/mcp";
    cfg.resource.authorization_servers = {"https://idp.test"};
    cfg.resource.scopes_supported = {"mcp.tools", "mcp.admin"};
  }

  authenticator make() {
    authenticator::options o;
    o.now = [] { return std::chrono::system_clock::time_point(std::chrono::seconds(now_s)); };
    return authenticator(cfg, std::move(o));
  }

  auth_outcome with_headers(authenticator& a, std::map<std::string, std::string> headers) {
    const header_lookup lookup = [&](std::string_view name) -> std::optional<std::string_view> {
      for (const auto& [k, v] : headers) {
        if (k.size() == name.size() && std::equal(k.begin(), k.end(), name.begin(), [](char x, char y) {
              return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
            })) {
          return std::string_view(v);
        }
      }
      return std::nullopt;
    };
    return run(io, a.authenticate(lookup));
  }

  json claims(json extra = json::object()) {
    json c{{"iss", "https://idp.test"}, {"aud", "https://mcp.test/mcp"}, {"sub", "alice"},
           {"exp", now_s + 60},         {"roles", {"ops"}},                {"scope", "mcp.tools"}};
    c.update(extra);
    return c;
  }
};

TEST_F(authenticator_test, without_auth_everyone_is_anonymous) {
  config::auth_config off;
  off.anonymous_roles = {"viewer"};
  authenticator a(off, {});
  EXPECT_FALSE(a.enabled());
  const auto r = with_headers(a, {});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.who->name, "anonymous");
  EXPECT_EQ(r.who->method, auth_method::anonymous);
  EXPECT_EQ(r.who->roles, std::vector<std::string>{"viewer"});
  EXPECT_EQ(a.stdio_principal().name, "anonymous");
}

TEST_F(authenticator_test, api_key_as_bearer) {
  auto a = make();
  auto r = with_headers(a, {{"authorization", "Bearer " + ci_key}});
  ASSERT_TRUE(r.ok()) << r.refused.log_reason;
  EXPECT_EQ(r.who->name, "ci-bot");
  EXPECT_EQ(r.who->method, auth_method::api_key);
  EXPECT_EQ(r.who->roles, std::vector<std::string>{"dev"});
  r = with_headers(a, {{"Authorization", "bearer   " + ci_key + "  "}});
  EXPECT_TRUE(r.ok()) << "scheme is case-insensitive, spaces are trimmed";
  r = with_headers(a, {{"Authorization", "Bearer mfd_wrong"}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.refused.status, 401);
  EXPECT_EQ(r.refused.error, "invalid_token");
  EXPECT_EQ(r.refused.www_authenticate,
            "Bearer error=\"invalid_token\", error_description=\"unknown API key\", "
            "resource_metadata=\"https://mcp.test/.well-known/oauth-protected-resource/mcp\"");
}

TEST_F(authenticator_test, api_key_in_a_custom_header) {
  cfg.api_key_header = "X-API-Key";
  auto a = make();
  auto r = with_headers(a, {{"x-api-key", ci_key}});
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.who->name, "ci-bot");
  r = with_headers(a, {{"Authorization", "Bearer " + ci_key}});
  EXPECT_FALSE(r.ok()) << "with a custom header, keys travel only there";
  r = with_headers(a, {{"X-API-Key", "nope"}});
  EXPECT_EQ(r.refused.status, 401);
  r = with_headers(a, {{"Authorization", "Bearer " + sign_hs(secret, "HS256", claims())}});
  EXPECT_TRUE(r.ok()) << "JWTs still come in Authorization";
}

TEST_F(authenticator_test, missing_and_malformed_credentials) {
  cfg.resource.required_scopes = {"mcp.tools"};
  auto a = make();
  auto r = with_headers(a, {});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.refused.status, 401);
  EXPECT_EQ(r.refused.error, "");
  EXPECT_EQ(r.refused.www_authenticate,
            "Bearer scope=\"mcp.tools\", resource_metadata=\"https://mcp.test/.well-known/oauth-protected-resource/mcp\"");
  EXPECT_EQ(r.refused.json_rpc_error()["data"]["status"], 401);
  r = with_headers(a, {{"Authorization", "Basic dXNlcjpwYXNz"}});
  EXPECT_EQ(r.refused.status, 401);
  EXPECT_EQ(r.refused.error, "");
  for (const auto* bad : {"Bearer", "Bearer ", "Bearer a b", "Bearer a\"b", "Bearer =abc"}) {
    r = with_headers(a, {{"Authorization", bad}});
    EXPECT_EQ(r.refused.status, 400) << bad;
    EXPECT_EQ(r.refused.error, "invalid_request") << bad;
    EXPECT_TRUE(r.refused.www_authenticate.empty());
  }
}

TEST_F(authenticator_test, jwt_principal_and_scopes) {
  cfg.resource.required_scopes = {"mcp.tools"};
  auto a = make();
  auto r = with_headers(a, {{"Authorization", "Bearer " + sign_hs(secret, "HS256", claims())}});
  ASSERT_TRUE(r.ok()) << r.refused.log_reason;
  EXPECT_EQ(r.who->name, "alice");
  EXPECT_EQ(r.who->method, auth_method::jwt);
  EXPECT_EQ(r.who->roles, std::vector<std::string>{"ops"});
  EXPECT_EQ(r.who->scopes, std::vector<std::string>{"mcp.tools"});
  EXPECT_EQ(r.who->claims["sub"], "alice");

  r = with_headers(a, {{"Authorization", "Bearer " + sign_hs(secret, "HS256", claims({{"scope", "mcp.read"}}))}});
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.refused.status, 403);
  EXPECT_EQ(r.refused.error, "insufficient_scope");
  EXPECT_EQ(r.refused.www_authenticate,
            "Bearer error=\"insufficient_scope\", error_description=\"the token lacks scope mcp.tools\", "
            "scope=\"mcp.tools\", resource_metadata=\"https://mcp.test/.well-known/oauth-protected-resource/mcp\"");

  r = with_headers(a, {{"Authorization", "Bearer " + sign_hs(secret, "HS256", claims({{"exp", now_s - 3600}}))}});
  EXPECT_EQ(r.refused.status, 401);
  EXPECT_NE(r.refused.www_authenticate.find("error=\"invalid_token\", error_description=\"token expired\""),
            std::string::npos)
      << r.refused.www_authenticate;
  r = with_headers(a, {{"Authorization", "Bearer a.b.c"}});
  EXPECT_EQ(r.refused.status, 401);
  EXPECT_EQ(r.refused.error, "invalid_token");
}

TEST_F(authenticator_test, jwks_url_is_fetched_on_the_first_unknown_kid) {
  cfg.jwt.jwks_url = "https://idp.test/certs";
  int fetches = 0;
  const auto& key = shared_key(test_kind::rsa);
  authenticator::options o;
  o.now = [] { return std::chrono::system_clock::time_point(std::chrono::seconds(now_s)); };
  o.fetch = [&](std::string, std::chrono::milliseconds) -> asio::awaitable<std::optional<std::string>> {
    ++fetches;
    co_return jwks_text(json::array({public_jwk(key)}));
  };
  authenticator a(cfg, std::move(o));
  const auto token = sign_jwt(key, "RS256", claims());
  auto r = with_headers(a, {{"Authorization", "Bearer " + token}});
  ASSERT_TRUE(r.ok()) << r.refused.log_reason;
  r = with_headers(a, {{"Authorization", "Bearer " + token}});
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(fetches, 1);
  ASSERT_NE(a.keys(), nullptr);
}

TEST_F(authenticator_test, remembered_tokens_still_expire_and_go_with_their_key) {
  cfg.jwt.jwks_url = "https://idp.test/certs";
  cfg.jwt.algorithms = {"ES256"};
  cfg.jwt.leeway = std::chrono::seconds(0);
  const auto& key = shared_key(test_kind::ec_p256);
  std::string document = jwks_text(json::array({public_jwk(key)}));
  auto now = std::chrono::system_clock::time_point(std::chrono::seconds(now_s));
  authenticator::options o;
  o.now = [&] { return now; };
  o.fetch = [&](std::string, std::chrono::milliseconds) -> asio::awaitable<std::optional<std::string>> {
    co_return document;
  };
  authenticator a(cfg, std::move(o));
  const auto token = "Bearer " + sign_jwt(key, "ES256", claims({{"exp", now_s + 60}}));
  EXPECT_TRUE(with_headers(a, {{"Authorization", token}}).ok());
  EXPECT_TRUE(with_headers(a, {{"Authorization", token}}).ok()) << "from the cache";
  now += std::chrono::seconds(61);
  auto r = with_headers(a, {{"Authorization", token}});
  EXPECT_FALSE(r.ok()) << "a remembered token expires all the same";
  EXPECT_EQ(r.refused.message, "token expired");
  now -= std::chrono::seconds(61);
  EXPECT_TRUE(with_headers(a, {{"Authorization", token}}).ok());
  document = jwks_text(json::array());  // the issuer revokes the key
  EXPECT_TRUE(run(io, a.keys()->refresh()));
  r = with_headers(a, {{"Authorization", token}});
  EXPECT_FALSE(r.ok()) << "the key set changed: nothing verified with the old one is remembered";
  EXPECT_EQ(r.refused.message, "unknown key id");
}

TEST_F(authenticator_test, admin_endpoints_need_one_of_the_admin_roles_when_they_are_listed) {
  const auto with_roles = [](std::vector<std::string> roles) {
    principal p;
    p.name = "someone";
    p.roles = normalized_roles(std::move(roles));
    return p;
  };
  const auto dev = with_roles({"dev"});
  EXPECT_TRUE(make().may_administer(dev)) << "no admin_roles: anyone authenticated";
  cfg.admin_roles = {"ops", "admin"};
  auto a = make();
  EXPECT_FALSE(a.may_administer(dev));
  EXPECT_TRUE(a.may_administer(with_roles({"ops", "dev"})));
  EXPECT_TRUE(a.may_administer(with_roles({"admin"})));
  EXPECT_FALSE(a.may_administer(a.anonymous()));
  cfg.api_keys.clear();
  cfg.jwt = {};
  EXPECT_TRUE(make().may_administer(dev)) << "auth off: nobody is told apart";
}

TEST_F(authenticator_test, stdio_identity_public_paths_and_metadata) {
  cfg.stdio_identity = {"local", {"b", "a"}};
  cfg.public_endpoints = {"/readyz"};
  auto a = make();
  const auto p = a.stdio_principal();
  EXPECT_EQ(p.name, "local");
  EXPECT_EQ(p.method, auth_method::stdio);
  EXPECT_EQ(p.roles, (std::vector<std::string>{"a", "b"}));
  EXPECT_TRUE(a.is_public("/healthz"));
  EXPECT_TRUE(a.is_public("/readyz"));
  EXPECT_FALSE(a.is_public("/metrics"));
  EXPECT_FALSE(a.is_public("/mcp"));
  EXPECT_EQ(a.resource_metadata(), json::parse(R"({"resource": "https://mcp.test/mcp",
      "authorization_servers": ["https://idp.test"], "scopes_supported": ["mcp.tools", "mcp.admin"],
      "bearer_methods_supported": ["header"]})"));
  EXPECT_EQ(a.resource_metadata_paths(),
            (std::vector<std::string>{"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"}));
}

TEST(resource_metadata, urls_and_challenges) {
  EXPECT_EQ(resource_metadata_url("https://h.test"), "https://h.test/.well-known/oauth-protected-resource");
  EXPECT_EQ(resource_metadata_url("https://h.test/"), "https://h.test/.well-known/oauth-protected-resource");
  EXPECT_EQ(resource_metadata_url("http://127.0.0.1:8080/mcp/ops/?x=1"),
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp/ops");
  EXPECT_EQ(resource_metadata_url("ftp://h.test/x"), "");
  EXPECT_EQ(resource_metadata_url("https:///x"), "");
  EXPECT_EQ(www_authenticate({}), "Bearer");
  EXPECT_EQ(www_authenticate({"invalid_token", "bad \"quote\"\\", "", ""}),
            "Bearer error=\"invalid_token\", error_description=\"bad quote\"");
}

}  // namespace
}  // namespace manifold::access
