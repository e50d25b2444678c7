#include "manifold/upstream/oauth.hpp"

#include <gtest/gtest.h>
#include <openssl/sha.h>

#include "manifold/protocol/text.hpp"

#include "manifold/config/config_error.hpp"
#include "manifold/config/config_loader.hpp"

namespace manifold::upstream::oauth {
namespace {

using strings = std::vector<std::string>;

TEST(oauth_challenge, reads_bearer_params_in_any_order_quoted_or_not) {
  const auto c = parse_bearer_challenge(
      R"(Bearer error="insufficient_scope", scope="mcp:basic mcp:write", resource_metadata="https://mcp.example/.well-known/oauth-protected-resource/mcp", error_description="Insufficient scope")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->error, "insufficient_scope");
  EXPECT_EQ(c->scope, "mcp:basic mcp:write");
  EXPECT_EQ(c->resource_metadata, "https://mcp.example/.well-known/oauth-protected-resource/mcp");

  const auto plain = parse_bearer_challenge("bearer scope=files:read, error=invalid_token");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->scope, "files:read");
  EXPECT_EQ(plain->error, "invalid_token");
}

TEST(oauth_challenge, skips_other_schemes_and_escapes) {
  const auto c = parse_bearer_challenge(
      R"(Basic realm="old, \"quoted\"", Bearer resource_metadata="https://a.example/prm", DPoP algs="ES256")");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->resource_metadata, "https://a.example/prm");
  EXPECT_EQ(c->scope, "");
  EXPECT_FALSE(parse_bearer_challenge(R"(Basic realm="x")"));
  EXPECT_FALSE(parse_bearer_challenge(""));
  const auto bare = parse_bearer_challenge("Bearer");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->error, "");
}

TEST(oauth_discovery, protected_resource_metadata_path_based_first_then_root) {
  EXPECT_EQ(resource_metadata_urls("https://mcp.example.com/public/mcp"),
            (strings{"https://mcp.example.com/.well-known/oauth-protected-resource/public/mcp",
                     "https://mcp.example.com/.well-known/oauth-protected-resource"}));
  EXPECT_EQ(resource_metadata_urls("http://localhost:8080/"),
            (strings{"http://localhost:8080/.well-known/oauth-protected-resource"}));
}

TEST(oauth_discovery, authorization_server_metadata_with_and_without_issuer_path) {
  EXPECT_EQ(authorization_server_metadata_urls("https://auth.example.com/tenant1"),
            (strings{"https://auth.example.com/.well-known/oauth-authorization-server/tenant1",
                     "https://auth.example.com/.well-known/openid-configuration/tenant1",
                     "https://auth.example.com/tenant1/.well-known/openid-configuration"}));
  EXPECT_EQ(authorization_server_metadata_urls("https://auth.example.com"),
            (strings{"https://auth.example.com/.well-known/oauth-authorization-server",
                     "https://auth.example.com/.well-known/openid-configuration"}));
}

TEST(oauth_discovery, resource_must_share_origin_and_prefix_the_path) {
  EXPECT_TRUE(resource_allowed("https://mcp.example.com/mcp", "https://mcp.example.com/mcp"));
  EXPECT_TRUE(resource_allowed("https://mcp.example.com", "https://mcp.example.com/mcp"));
  EXPECT_TRUE(resource_allowed("https://MCP.example.com/api/", "https://mcp.example.com/api/mcp"));
  EXPECT_FALSE(resource_allowed("https://mcp.example.com/mcp-other", "https://mcp.example.com/mcp"));
  EXPECT_FALSE(resource_allowed("https://evil.example.com/mcp", "https://mcp.example.com/mcp"));
  EXPECT_FALSE(resource_allowed("http://mcp.example.com/mcp", "https://mcp.example.com/mcp"));
  EXPECT_FALSE(resource_allowed("https://mcp.example.com:8443/mcp", "https://mcp.example.com/mcp"));
  EXPECT_FALSE(resource_allowed("https://mcp.example.com/mcp#x", "https://mcp.example.com/mcp"));
}

TEST(oauth_scopes, split_join_cover_union) {
  EXPECT_EQ(split_scopes("  a  b c "), (strings{"a", "b", "c"}));
  EXPECT_EQ(join_scopes({"a", "b"}), "a b");
  EXPECT_TRUE(scopes_cover({"a", "b"}, {"b"}));
  EXPECT_TRUE(scopes_cover({"a"}, {}));
  EXPECT_FALSE(scopes_cover({"a"}, {"a", "b"}));
  EXPECT_EQ(scope_union({"a", "b"}, {"b", "c"}), (strings{"a", "b", "c"}));
}

TEST(oauth_client_auth, registered_method_then_secret_then_none) {
  const json basic_only{{"token_endpoint_auth_methods_supported", {"client_secret_basic"}}};
  const json post_only{{"token_endpoint_auth_methods_supported", {"client_secret_post"}}};
  const json none_only{{"token_endpoint_auth_methods_supported", {"none"}}};
  const json all{{"token_endpoint_auth_methods_supported", {"none", "client_secret_post", "client_secret_basic"}}};
  const json unlisted = json::object();
  EXPECT_EQ(choose_client_auth(all, "client_secret_post", true), client_auth::secret_post);
  EXPECT_EQ(choose_client_auth(all, "none", true), client_auth::none);
  EXPECT_EQ(choose_client_auth(basic_only, "", true), client_auth::secret_basic);
  EXPECT_EQ(choose_client_auth(post_only, "", true), client_auth::secret_post);
  EXPECT_EQ(choose_client_auth(none_only, "", false), client_auth::none);
  EXPECT_EQ(choose_client_auth(unlisted, "", true), client_auth::secret_basic);
  EXPECT_EQ(choose_client_auth(unlisted, "", false), client_auth::none);
  // A registered secret method the server does not list falls back to what it does.
  EXPECT_EQ(choose_client_auth(post_only, "client_secret_basic", true), client_auth::secret_post);
}

TEST(oauth_pkce, verifier_and_s256_challenge) {
  const auto p = make_pkce();
  EXPECT_GE(p.verifier.size(), 43U);
  EXPECT_LE(p.verifier.size(), 128U);
  for (char c : p.verifier) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_') << c;
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(p.verifier.data()), p.verifier.size(), digest);
  EXPECT_EQ(p.challenge, protocol::base64url_encode(std::string(reinterpret_cast<const char*>(digest), sizeof digest)));
  EXPECT_NE(make_pkce().verifier, p.verifier);
  // RFC 7636 appendix B.
  EXPECT_EQ(protocol::base64url_encode(std::string("\x13\xd3\x1e\x4a", 4)), "E9MeSg");
  EXPECT_EQ(protocol::base64url_encode("\xfb\xff"), "-_8");
}

TEST(oauth_config, reads_the_oauth_block_and_rejects_bad_values) {
  const auto cfg = config::parse_config(R"(
servers:
  remote:
    url: https://mcp.example.com/mcp
    oauth:
      client_id: manifold-prod
      client_secret: s3cret
      redirect_uri: http://127.0.0.1:33418/callback
      authorize_timeout: 2m
  cimd:
    url: https://other.example.com/mcp
    oauth: {client_metadata_url: "https://manifold.example/client.json"}
  off:
    url: https://static.example.com/mcp
    oauth: false
)", "test.yaml", [](const std::string&) { return std::nullopt; });
  ASSERT_EQ(cfg.servers.size(), 3U);
  EXPECT_EQ(cfg.servers[0].oauth.client_id, "manifold-prod");
  EXPECT_EQ(cfg.servers[0].oauth.client_secret, "s3cret");
  EXPECT_EQ(cfg.servers[0].oauth.redirect_uri, "http://127.0.0.1:33418/callback");
  EXPECT_EQ(cfg.servers[0].oauth.authorize_timeout, std::chrono::minutes(2));
  EXPECT_TRUE(cfg.servers[0].oauth.enabled);
  EXPECT_EQ(cfg.servers[1].oauth.client_metadata_url, "https://manifold.example/client.json");
  EXPECT_FALSE(cfg.servers[2].oauth.enabled);

  try {
    config::parse_config("servers:\n  a:\n    url: https://x.example/mcp\n    oauth:\n      client_secret: s\n"
                         "      client_metadata_url: http://plain.example/c.json\n      grant: password\n"
                         "      signing_algorithm: HS256\n      subject_token_type: jwt\n      nonsense: 1\n",
                         "bad.yaml", [](const std::string&) { return std::nullopt; });
    FAIL() << "expected a config error";
  } catch (const config::config_error& e) {
    const auto text = std::string(e.what());
    EXPECT_NE(text.find("bad.yaml:6:28"), std::string::npos) << text;
    EXPECT_NE(text.find("client_metadata_url must be an https URL"), std::string::npos) << text;
    EXPECT_NE(text.find("client_secret needs client_id"), std::string::npos) << text;
    EXPECT_NE(text.find("grant must be"), std::string::npos) << text;
    EXPECT_NE(text.find("signing_algorithm must be"), std::string::npos) << text;
    EXPECT_NE(text.find("RFC 8693 token type"), std::string::npos) << text;
    EXPECT_NE(text.find("nonsense"), std::string::npos) << text;
  }
}

TEST(oauth_config, reads_service_grants_and_ties_token_exchange_to_jwt_identities) {
  const auto cfg = config::parse_config(R"(
servers:
  billing:
    url: https://billing.example.com/mcp
    oauth:
      grant: client_credentials
      client_id: manifold
      client_secret: s3cret
      scopes: [billing.read, billing.write]
  ledger:
    url: https://ledger.example.com/mcp
    oauth:
      grant: token_exchange
      client_id: manifold
      client_secret: s3cret
      audience: ledger
auth:
  jwt:
    issuer: https://as.example.com
    audience: manifold
    jwks_file: keys.json
)", "test.yaml", [](const std::string&) { return std::nullopt; });
  ASSERT_EQ(cfg.servers.size(), 2U);
  EXPECT_EQ(cfg.servers[0].oauth.grant, config::oauth_grant::client_credentials);
  EXPECT_EQ(cfg.servers[0].oauth.scopes, (std::vector<std::string>{"billing.read", "billing.write"}));
  EXPECT_EQ(cfg.servers[1].oauth.grant, config::oauth_grant::token_exchange);
  EXPECT_EQ(cfg.servers[1].oauth.audience, "ledger");
  EXPECT_EQ(cfg.servers[1].oauth.subject_token_type, "urn:ietf:params:oauth:token-type:access_token");
  // Each caller's token is exchanged for its own upstream token, so each principal gets its own instance.
  EXPECT_EQ(cfg.servers[1].isolation, config::isolation_mode::principal);

  const auto refused = [](const std::string& yaml) {
    try {
      config::parse_config(yaml, "te.yaml", [](const std::string&) { return std::nullopt; });
    } catch (const config::config_error& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  const auto no_identity = refused(
      "servers:\n  l:\n    url: https://l.example/mcp\n    oauth: {grant: token_exchange, client_id: m}\n");
  EXPECT_NE(no_identity.find("te.yaml:4:20"), std::string::npos) << no_identity;
  EXPECT_NE(no_identity.find("auth.jwt"), std::string::npos) << no_identity;
  const auto no_client = refused("servers:\n  l:\n    url: https://l.example/mcp\n    oauth: {grant: client_credentials}\n");
  EXPECT_NE(no_client.find("pre-registered client_id"), std::string::npos) << no_client;
}

}  // namespace
}  // namespace manifold::upstream::oauth
