// The identity and access sections: auth, roles, rules, limits, audit, forward_identity.
#include <gtest/gtest.h>

#include "manifold/config/config_error.hpp"
#include "manifold/config/config_loader.hpp"
#include "manifold/config/units.hpp"

namespace manifold::config {
namespace {

const std::string hash = "sha256$00112233445566778899aabbccddeeff$" + std::string(64, 'a');
const std::string secret(40, 's');

env_lookup env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (name == "JWT_SECRET" || name == "ID_KEY") return secret;
    return std::nullopt;
  };
}

std::vector<diagnostic> errors_of(const std::string& text) {
  try {
    parse_config(text, "dir/test.yaml", env());
  } catch (const config_error& e) {
    return e.diagnostics();
  }
  return {};
}

TEST(access_config, reads_a_platform_config) {
  const auto cfg = parse_config(R"(
servers:
  k8s:
    command: kubectl-mcp
    forward_identity: header
    concurrency: 8
groups:
  readonly: {include: ["*__get*"]}
auth:
  api_keys:
    - {principal: ci-bot, hash: ")" + hash + R"(", roles: [dev]}
  api_key_header: X-API-Key
  jwt:
    issuer: https://idp.test/realms/main
    jwks_file: keys/jwks.json
    jwks_url: https://idp.test/certs
    hs256_secret: "${JWT_SECRET}"
    leeway: 0s
    roles_claim: realm_access.roles
  resource:
    url: https://mcp.test/mcp
    authorization_servers: [https://idp.test/realms/main]
    scopes_supported: [mcp.tools]
    required_scopes: [mcp.tools]
  stdio_identity: {principal: local, roles: [admin]}
  public_endpoints: [/readyz, /metrics]
roles:
  admin:
    tools: ["*"]
  dev:
    tools: {allow: ["k8s__*"], deny: ["k8s__delete_namespace"]}
    groups: [readonly]
    rules:
      - name: dev-namespaces
        tools: ["k8s__scale", "k8s__delete_*"]
        when:
          namespace: {pattern: "^dev-"}
          replicas: {maximum: 5, optional: true}
      - {name: no-exec, tools: ["k8s__exec"], deny: true}
    limits: {rate: "10/s", per_tool_rate: "30/m", per_tool_burst: 3, concurrency: 4}
limits:
  global: {rate: "1000/s", burst: 2000}
  concurrency_queue: 8
  concurrency_wait: 2s
audit:
  file: audit.jsonl
  stderr: true
  arguments: redacted
  redact: ["ssn=[0-9]+"]
identity_signing_key: "${ID_KEY}"
)", "dir/c.yaml", env());
  const auto& auth = cfg.auth;
  EXPECT_TRUE(auth.enabled());
  ASSERT_EQ(auth.api_keys.size(), 1U);
  EXPECT_EQ(auth.api_keys[0].principal, "ci-bot");
  EXPECT_EQ(auth.api_keys[0].roles, std::vector<std::string>{"dev"});
  EXPECT_EQ(auth.api_key_header, "X-API-Key");
  EXPECT_EQ(auth.jwt.jwks_file, "dir/keys/jwks.json");
  EXPECT_EQ(auth.jwt.audiences, std::vector<std::string>{"https://mcp.test/mcp"}) << "defaults to resource.url";
  EXPECT_EQ(auth.jwt.algorithms, (std::vector<std::string>{"RS256", "ES256", "EdDSA", "HS256"}));
  EXPECT_EQ(auth.jwt.leeway, std::chrono::milliseconds(0));
  EXPECT_EQ(auth.jwt.roles_claim, "realm_access.roles");
  EXPECT_EQ(auth.jwt.hs256_secret, secret);
  EXPECT_EQ(auth.resource.required_scopes, std::vector<std::string>{"mcp.tools"});
  EXPECT_EQ(auth.stdio_identity.principal, "local");
  EXPECT_EQ(auth.public_endpoints, (std::vector<std::string>{"/readyz", "/metrics"}));
  ASSERT_EQ(cfg.roles.size(), 2U);
  const auto& dev = cfg.roles[1];
  EXPECT_EQ(dev.name, "dev");
  EXPECT_EQ(cfg.roles[0].tools.allow, std::vector<std::string>{"*"});
  EXPECT_EQ(dev.tools.deny, std::vector<std::string>{"k8s__delete_namespace"});
  EXPECT_TRUE(dev.prompts.allow.empty()) << "a role grants nothing it does not name";
  ASSERT_EQ(dev.rules.size(), 2U);
  EXPECT_EQ(dev.rules[0].when.at("namespace"), nlohmann::json({{"pattern", "^dev-"}}));
  EXPECT_EQ(dev.rules[0].when.at("replicas"), nlohmann::json({{"maximum", 5}, {"optional", true}}));
  EXPECT_TRUE(dev.rules[1].deny);
  EXPECT_EQ(dev.limits.rate.tokens, 10U);
  EXPECT_EQ(dev.limits.rate.burst, 10U) << "burst defaults to the count";
  EXPECT_EQ(dev.limits.per_tool.period, std::chrono::minutes(1));
  EXPECT_EQ(dev.limits.per_tool.burst, 3U);
  EXPECT_EQ(dev.limits.concurrency, 4U);
  EXPECT_EQ(cfg.limits.global.burst, 2000U);
  EXPECT_EQ(cfg.limits.concurrency_queue, 8U);
  EXPECT_EQ(cfg.limits.concurrency_wait, std::chrono::seconds(2));
  EXPECT_EQ(cfg.audit.file, "dir/audit.jsonl");
  EXPECT_TRUE(cfg.audit.to_stderr);
  EXPECT_EQ(cfg.audit.arguments, audit_arguments::redacted);
  EXPECT_EQ(cfg.servers[0].forward_identity, forward_identity_mode::header);
  EXPECT_EQ(cfg.servers[0].concurrency, 8U);
  EXPECT_EQ(cfg.identity_signing_key, secret);
}

TEST(access_config, defaults) {
  const auto cfg = parse_config("servers: {}\n", "c.yaml", env());
  EXPECT_FALSE(cfg.auth.enabled());
  EXPECT_EQ(cfg.auth.api_key_header, "Authorization");
  EXPECT_EQ(cfg.auth.jwt.algorithms, (std::vector<std::string>{"RS256", "ES256", "EdDSA"}));
  EXPECT_EQ(cfg.auth.jwt.leeway, std::chrono::seconds(60));
  EXPECT_EQ(cfg.auth.jwt.roles_claim, "roles");
  EXPECT_EQ(cfg.auth.jwt.principal_claim, "sub");
  EXPECT_EQ(cfg.auth.jwt.jwks_refresh_timeout, std::chrono::seconds(5));
  EXPECT_EQ(cfg.auth.jwt.jwks_refresh_interval, std::chrono::minutes(10));
  EXPECT_EQ(cfg.auth.jwt.jwks_min_refresh_interval, std::chrono::seconds(30));
  EXPECT_EQ(cfg.limits.concurrency_queue, 32U);
  EXPECT_EQ(cfg.limits.concurrency_wait, std::chrono::seconds(10));
  EXPECT_EQ(cfg.servers.size(), 0U);
  EXPECT_EQ(cfg.auth.public_endpoints, std::vector<std::string>{"/readyz"});
  EXPECT_TRUE(cfg.auth.anonymous_roles.empty());
  EXPECT_TRUE(cfg.auth.admin_roles.empty());
  EXPECT_TRUE(cfg.roles.empty());
  EXPECT_FALSE(cfg.limits.global.limited());
  EXPECT_FALSE(cfg.audit.enabled());
  EXPECT_EQ(cfg.audit.arguments, audit_arguments::keys);
}

TEST(access_config, rates) {
  EXPECT_EQ(parse_rate("10/s")->count, 10U);
  EXPECT_EQ(parse_rate("10/s")->period, std::chrono::seconds(1));
  EXPECT_EQ(parse_rate("600 / m")->period, std::chrono::minutes(1));
  EXPECT_EQ(parse_rate("5000/h")->period, std::chrono::hours(1));
  EXPECT_FALSE(parse_rate("0/s"));
  EXPECT_FALSE(parse_rate("10"));
  EXPECT_FALSE(parse_rate("10/d"));
  EXPECT_FALSE(parse_rate("x/s"));
}

struct error_case {
  std::string yaml;
  int line;
  int column;
  const char* path;
  const char* message_part;
};

class access_config_errors : public ::testing::TestWithParam<error_case> {};

TEST_P(access_config_errors, name_line_column_and_path) {
  const auto& c = GetParam();
  const auto errors = errors_of(c.yaml);
  ASSERT_FALSE(errors.empty()) << c.yaml;
  const auto& d = errors.front();
  EXPECT_EQ(d.position.file, "dir/test.yaml");
  EXPECT_EQ(d.position.line, c.line) << d.to_string();
  EXPECT_EQ(d.position.column, c.column) << d.to_string();
  EXPECT_EQ(d.path, c.path) << d.to_string();
  EXPECT_NE(d.message.find(c.message_part), std::string::npos) << d.to_string();
}

const std::string jwt_head = "auth:\n  jwt:\n    issuer: https://i\n    audience: a\n";

INSTANTIATE_TEST_SUITE_P(
    table, access_config_errors,
    ::testing::Values(
        error_case{"auth:\n  api_key: []\n", 2, 3, "auth.api_key", "unknown key"},
        error_case{"auth:\n  api_keys:\n    - {principal: p, hash: plaintext}\n", 3, 28, "auth.api_keys[0].hash",
                   "manifold key hash"},
        error_case{"auth:\n  api_keys:\n    - {hash: \"" + hash + "\"}\n", 3, 7, "auth.api_keys[0]",
                   "needs `principal`"},
        error_case{"auth:\n  api_keys:\n    - {principal: p, hash: \"" + hash + "\", roles: [ghost]}\n", 3,
                   144, "auth.api_keys[0].roles[0]", "unknown role `ghost`"},
        error_case{"auth:\n  api_key_header: \"X API\"\n", 2, 19, "auth.api_key_header", "header name"},
        error_case{"auth:\n  jwt:\n    audience: a\n    hs256_secret: \"${JWT_SECRET}\"\n", 3, 5, "auth.jwt",
                   "needs `issuer`"},
        error_case{"auth:\n  jwt:\n    issuer: https://i\n    hs256_secret: \"${JWT_SECRET}\"\n", 3, 5, "auth.jwt",
                   "audience"},
        error_case{jwt_head, 3, 5, "auth.jwt", "needs keys"},
        error_case{jwt_head + "    hs256_secret: short\n", 5, 19, "auth.jwt.hs256_secret", "32 bytes"},
        error_case{jwt_head + "    jwks_url: http://idp.example/certs\n", 5, 15, "auth.jwt.jwks_url", "https"},
        error_case{jwt_head + "    jwks_file: k.json\n    algorithms: [RS256, none]\n", 6, 25,
                   "auth.jwt.algorithms[1]", "never accepted"},
        error_case{jwt_head + "    jwks_file: k.json\n    algorithms: [RS257]\n", 6, 18, "auth.jwt.algorithms[0]",
                   "unknown algorithm"},
        error_case{jwt_head + "    jwks_file: k.json\n    algorithms: [HS256]\n", 3, 5, "auth.jwt", "hs256_secret"},
        error_case{jwt_head + "    jwks_file: k.json\n    roles_claim: a..b\n", 6, 18, "auth.jwt.roles_claim",
                   "dot path"},
        error_case{jwt_head + "    jwks_file: k.json\n    leeway: soon\n", 6, 13, "auth.jwt.leeway", "duration"},
        error_case{"auth:\n  resource: {url: \"https://m/mcp#frag\"}\n", 2, 19, "auth.resource.url", "fragment"},
        error_case{"auth:\n  public_endpoints: [/mcp]\n", 2, 22, "auth.public_endpoints[0]", "/readyz"},
        error_case{"auth:\n  stdio_identity: {roles: []}\n", 2, 19, "auth.stdio_identity", "needs `principal`"},
        error_case{"auth:\n  anonymous_roles: [nobody]\n", 2, 21, "auth.anonymous_roles[0]", "unknown role"},
        error_case{"auth:\n  admin_roles: [nobody]\n", 2, 17, "auth.admin_roles[0]", "unknown role"},
        error_case{"roles:\n  dev:\n    tools: {allow: [x], block: [y]}\n", 3, 25, "roles.dev.tools.block",
                   "unknown key"},
        error_case{"roles:\n  dev:\n    tool: [x]\n", 3, 5, "roles.dev.tool", "unknown key"},
        error_case{"roles:\n  dev:\n    groups: [readonly]\n", 3, 14, "roles.dev.groups[0]", "unknown group"},
        error_case{"roles:\n  \"a b\": {}\n", 2, 3, "roles.a b", "role name"},
        error_case{"roles:\n  dev:\n    rules:\n      - {name: r, tools: [t]}\n", 4, 9, "roles.dev.rules[0]",
                   "needs `when`"},
        error_case{"roles:\n  dev:\n    rules:\n      - {name: r, when: {a: {maximum: 1}}}\n", 4, 9,
                   "roles.dev.rules[0]", "needs `name` and `tools`"},
        error_case{"roles:\n  dev:\n    rules:\n      - {name: r, tools: [t], when: {a: {maximum: big}}}\n", 4,
                   51, "roles.dev.rules[0].when.a.maximum", "must be a number"},
        error_case{"roles:\n  dev:\n    rules:\n      - {name: r, tools: [t], when: {a: {pattern: \"(\"}}}\n", 4,
                   51, "roles.dev.rules[0].when.a.pattern", "regular expression"},
        error_case{"roles:\n  dev:\n    rules:\n      - {name: r, tools: [t], when: {a: {format: x}}}\n", 4, 42,
                   "roles.dev.rules[0].when.a.format", "unknown key"},
        error_case{"roles:\n  dev:\n    rules:\n      - {name: r, tools: [t], deny: yes}\n", 4, 37,
                   "roles.dev.rules[0].deny", "true or false"},
        error_case{"roles:\n  dev:\n    rules:\n      - {name: r, tools: [t], deny: true}\n      - {name: r, "
                   "tools: [u], deny: true}\n",
                   5, 16, "roles.dev.rules[1].name", "another rule"},
        error_case{"roles:\n  dev:\n    limits: {rate: 10/d}\n", 3, 20, "roles.dev.limits.rate", "rate such as"},
        error_case{"roles:\n  dev:\n    limits: {burst: 5}\n", 3, 13, "roles.dev.limits", "burst needs a rate"},
        error_case{"roles:\n  dev:\n    limits: {concurrency: 0}\n", 3, 27, "roles.dev.limits.concurrency",
                   "at least 1"},
        error_case{"limits:\n  global: {burst: 3}\n", 2, 11, "limits.global", "needs `rate`"},
        error_case{"audit:\n  arguments: some\n", 2, 14, "audit.arguments", "none, keys, redacted or full"},
        error_case{"audit:\n  redact: [\"[\"]\n", 2, 12, "audit.redact[0]", "regular expression"},
        error_case{"audit:\n  stderr: maybe\n", 2, 11, "audit.stderr", "true or false"},
        error_case{"identity_signing_key: short\n", 1, 23, "identity_signing_key", "32 bytes"},
        error_case{"servers:\n  a:\n    command: x\n    forward_identity: token\n", 4, 23,
                   "servers.a.forward_identity", "none, header or meta"},
        error_case{"servers:\n  a:\n    command: x\n    forward_identity: meta\n", 4, 23,
                   "servers.a.forward_identity", "identity_signing_key"},
        error_case{"servers:\n  a:\n    command: x\n    concurrency: none\n", 4, 18, "servers.a.concurrency",
                   "number"}));

TEST(access_config, roles_and_groups_may_be_declared_after_their_use) {
  const auto cfg = parse_config("auth:\n  anonymous_roles: [viewer]\n  admin_roles: [ops]\nroles:\n"
                                "  viewer: {groups: [ro]}\n  ops: {tools: [\"*\"]}\n"
                                "groups:\n  ro: {include: [\"*\"]}\n",
                                "c.yaml", env());
  EXPECT_EQ(cfg.auth.anonymous_roles, std::vector<std::string>{"viewer"});
  EXPECT_EQ(cfg.auth.admin_roles, std::vector<std::string>{"ops"});
  EXPECT_EQ(cfg.roles[0].groups, std::vector<std::string>{"ro"});
}

TEST(access_config, explicit_algorithms_are_kept_as_written) {
  const auto cfg = parse_config(jwt_head + "    hs256_secret: \"${JWT_SECRET}\"\n    algorithms: [HS512]\n",
                                "c.yaml", env());
  EXPECT_EQ(cfg.auth.jwt.algorithms, std::vector<std::string>{"HS512"});
  EXPECT_EQ(cfg.auth.jwt.audiences, std::vector<std::string>{"a"});
}

}  // namespace
}  // namespace manifold::config
