#include "manifold/access/role_policy.hpp"

#include <gtest/gtest.h>

#include "manifold/config/config_loader.hpp"

namespace manifold::access {
namespace {

using json = nlohmann::json;

std::vector<config::role_config> roles_of(const std::string& yaml) {
  return config::parse_config(yaml, "roles.yaml", [](const std::string&) { return std::nullopt; }).roles;
}

const std::string platform = R"(
groups:
  readonly: {include: ["*__get*"]}
roles:
  admin:
    tools: ["*"]
    prompts: ["*"]
    resources: ["*"]
  dev:
    tools: {allow: ["k8s__*", "docs__*"], deny: ["k8s__delete_namespace"]}
    prompts: {allow: ["docs__*"]}
    resources: {allow: ["file:///docs/*"]}
    rules:
      - name: dev-namespaces
        tools: ["k8s__scale", "k8s__delete_*"]
        when:
          namespace: {pattern: "^dev-"}
          replicas: {maximum: 5, optional: true}
      - {name: no-exec, tools: ["k8s__exec"], deny: true}
      - name: no-prod-logs
        tools: ["k8s__logs"]
        deny: true
        when: {namespace: {pattern: "^prod-"}}
    limits: {rate: "10/s", burst: 20, per_tool_rate: "1/s", concurrency: 2}
  viewer:
    tools: ["docs__*", "k8s__get_*"]
    groups: [readonly]
    limits: {rate: "5/s", burst: 50, concurrency: 4}
)";

TEST(role_policy, visibility_is_the_union_of_roles) {
  const role_policy policy(roles_of(platform));
  ASSERT_TRUE(policy.enabled());
  const auto dev = policy.view_for(std::vector<std::string>{"dev"});
  EXPECT_FALSE(dev->unrestricted());
  EXPECT_TRUE(dev->admits(entry_kind::tool, "k8s__scale"));
  EXPECT_FALSE(dev->admits(entry_kind::tool, "k8s__delete_namespace")) << "deny beats allow";
  EXPECT_FALSE(dev->admits(entry_kind::tool, "aws__s3_rm"));
  EXPECT_TRUE(dev->admits(entry_kind::prompt, "docs__summarize"));
  EXPECT_FALSE(dev->admits(entry_kind::prompt, "k8s__triage")) << "a role grants nothing it does not name";
  EXPECT_TRUE(dev->admits(entry_kind::resource, "file:///docs/a/b.md"));
  EXPECT_FALSE(dev->admits(entry_kind::resource, "file:///etc/passwd"));
  const auto both = policy.view_for(std::vector<std::string>{"viewer", "dev", "ghost", "dev"});
  EXPECT_EQ(both->key(), "dev,viewer") << "sorted, unique, unknown roles left out";
  EXPECT_EQ(both->roles(), (std::vector<std::string>{"dev", "viewer"}));
  EXPECT_TRUE(both->admits(entry_kind::tool, "k8s__get_pods"));
  const auto nobody = policy.view_for(std::vector<std::string>{"ghost"});
  EXPECT_EQ(nobody->key(), "");
  EXPECT_FALSE(nobody->admits(entry_kind::tool, "docs__search"));
  EXPECT_EQ(policy.role_set_key({"viewer", "dev"}), policy.role_set_key({"dev", "viewer", "dev"}));
}

TEST(role_policy, groups) {
  const role_policy policy(roles_of(platform));
  const auto viewer = policy.view_for(std::vector<std::string>{"viewer"});
  EXPECT_TRUE(viewer->may_use_group("readonly"));
  EXPECT_FALSE(viewer->may_use_group("")) << "the whole catalog is not among viewer's groups";
  const auto dev = policy.view_for(std::vector<std::string>{"dev"});
  EXPECT_TRUE(dev->may_use_group("") && dev->may_use_group("readonly")) << "no groups listed: any";
}

TEST(role_policy, unrestricted_views) {
  const role_policy off;
  EXPECT_FALSE(off.enabled());
  const auto anyone = off.view_for(std::vector<std::string>{"dev"});
  EXPECT_TRUE(anyone->unrestricted());
  EXPECT_EQ(anyone->key(), "*");
  EXPECT_TRUE(anyone->admits(entry_kind::tool, "anything"));
  EXPECT_TRUE(anyone->check_call("anything", json::object()).allowed);

  const role_policy policy(roles_of(platform));
  principal anonymous;
  EXPECT_TRUE(policy.view_for(anonymous)->unrestricted()) << "no auth, no anonymous_roles: everything, as before";
  anonymous.roles = {"viewer"};
  EXPECT_FALSE(policy.view_for(anonymous)->unrestricted());
  principal jwt_user{"alice", {}, auth_method::jwt, nullptr, {}};
  EXPECT_FALSE(policy.view_for(jwt_user)->unrestricted()) << "an authenticated principal without roles sees nothing";
  EXPECT_FALSE(policy.view_for(jwt_user)->admits(entry_kind::tool, "docs__search"));
}

TEST(role_policy, call_time_rules) {
  const role_policy policy(roles_of(platform));
  const auto dev = policy.view_for(std::vector<std::string>{"dev"});
  auto d = dev->check_call("k8s__scale", {{"namespace", "dev-team"}, {"replicas", 3}});
  EXPECT_TRUE(d.allowed) << d.message;
  EXPECT_EQ(d.role, "dev");
  EXPECT_TRUE(dev->check_call("k8s__scale", {{"namespace", "dev-team"}}).allowed) << "replicas is optional";

  d = dev->check_call("k8s__scale", {{"namespace", "prod-payments"}, {"replicas", 3}});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "dev-namespaces");
  EXPECT_EQ(d.message,
            "Refused by rule `dev-namespaces` of role `dev`: argument `namespace` must be of type string and match ^dev- "
            "(got \"prod-payments\")");
  d = dev->check_call("k8s__scale", {{"namespace", "dev-a"}, {"replicas", 50}});
  EXPECT_EQ(d.message, "Refused by rule `dev-namespaces` of role `dev`: argument `replicas` must be of type number and be at most 5 "
            "(got 50)");
  d = dev->check_call("k8s__delete_pod", {{"replicas", 1}});
  EXPECT_NE(d.message.find("argument `namespace` is required"), std::string::npos) << d.message;
  d = dev->check_call("k8s__scale", nullptr);
  EXPECT_FALSE(d.allowed) << "no arguments at all";
  // JSON Schema would let values of another type pass a pattern or a bound; rules do not.
  d = dev->check_call("k8s__scale", {{"namespace", 7}});
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.message.find("must be of type string and match ^dev- (got 7)"), std::string::npos) << d.message;
  d = dev->check_call("k8s__scale", {{"namespace", "dev-a"}, {"replicas", "50"}});
  EXPECT_FALSE(d.allowed) << "a numeric string does not slip past maximum";

  d = dev->check_call("k8s__exec", {{"command", "sh"}});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "no-exec");
  EXPECT_EQ(d.message, "Refused by rule `no-exec` of role `dev`: k8s__exec may not be called");
  EXPECT_TRUE(dev->check_call("k8s__logs", {{"namespace", "dev-a"}}).allowed);
  d = dev->check_call("k8s__logs", {{"namespace", "prod-a"}});
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "no-prod-logs");

  d = dev->check_call("aws__s3_rm", json::object());
  EXPECT_FALSE(d.allowed);
  EXPECT_EQ(d.rule, "visibility");

  // Another role that shows the tool without rules allows the call (union of roles).
  const auto admin_dev = policy.view_for(std::vector<std::string>{"admin", "dev"});
  d = admin_dev->check_call("k8s__exec", json::object());
  EXPECT_TRUE(d.allowed);
  EXPECT_EQ(d.role, "admin");
}

TEST(role_policy, long_strings_are_not_matched_against_patterns) {
  const role_policy policy(roles_of(platform));
  const auto dev = policy.view_for(std::vector<std::string>{"dev"});
  const auto d = dev->check_call("k8s__scale", {{"namespace", "dev-" + std::string(100'000, 'a')}});
  EXPECT_FALSE(d.allowed);
  EXPECT_NE(d.message.find("too long"), std::string::npos) << d.message;
}

TEST(role_policy, rule_vocabulary) {
  const role_policy policy(roles_of(R"(
roles:
  r:
    tools: ["t"]
    rules:
      - name: shape
        tools: ["t"]
        when:
          mode: {enum: [fast, safe]}
          tag: {const: blue}
          count: {type: integer, minimum: 1, exclusiveMaximum: 10}
          name: {minLength: 2, maxLength: 4}
)"));
  const auto v = policy.view_for(std::vector<std::string>{"r"});
  const json good{{"mode", "safe"}, {"tag", "blue"}, {"count", 9}, {"name", "abc"}};
  EXPECT_TRUE(v->check_call("t", good).allowed);
  const auto refused = [&](const char* key, json value) {
    auto args = good;
    args[key] = std::move(value);
    return v->check_call("t", args);
  };
  EXPECT_NE(refused("mode", "yolo").message.find("must be one of [\"fast\",\"safe\"]"), std::string::npos);
  EXPECT_NE(refused("tag", "red").message.find("must be \"blue\""), std::string::npos);
  EXPECT_NE(refused("count", 10).message.find("be less than 10"), std::string::npos);
  EXPECT_NE(refused("count", 2.5).message.find("type integer"), std::string::npos);
  EXPECT_NE(refused("name", "abcde").message.find("at most 4 characters"), std::string::npos);
  EXPECT_FALSE(refused("count", 0).allowed);
}

TEST(role_policy, limits_are_the_most_generous_of_the_roles) {
  const role_policy policy(roles_of(platform));
  const auto dev = policy.view_for(std::vector<std::string>{"dev"})->limits();
  EXPECT_DOUBLE_EQ(dev.per_principal.per_second, 10);
  EXPECT_DOUBLE_EQ(dev.per_principal.burst, 20);
  EXPECT_DOUBLE_EQ(dev.per_tool.per_second, 1);
  EXPECT_EQ(dev.concurrency, 2U);
  const auto both = policy.view_for(std::vector<std::string>{"dev", "viewer"})->limits();
  EXPECT_DOUBLE_EQ(both.per_principal.per_second, 10);
  EXPECT_DOUBLE_EQ(both.per_principal.burst, 50);
  EXPECT_FALSE(both.per_tool.limited()) << "viewer has no per-tool limit";
  EXPECT_EQ(both.concurrency, 4U);
  const auto with_admin = policy.view_for(std::vector<std::string>{"dev", "admin"})->limits();
  EXPECT_FALSE(with_admin.per_principal.limited());
  EXPECT_EQ(with_admin.concurrency, 0U);
}

TEST(role_policy, explain_names_the_deciding_role_and_rule) {
  const role_policy policy(roles_of(platform));
  auto e = policy.explain({"dev", "ghost"}, entry_kind::tool, "k8s__scale");
  EXPECT_TRUE(e.visible);
  EXPECT_EQ(e.decided_by, "role dev, allow k8s__*");
  EXPECT_FALSE(e.call.has_value());
  EXPECT_NE(e.text().find("role ghost: not configured"), std::string::npos) << e.text();
  EXPECT_NE(e.text().find("rule dev-namespaces: namespace must be of type string and match ^dev-; replicas must be of type number and be "
                      "at most 5 (when given)"),
            std::string::npos)
      << e.text();
  const json args{{"namespace", "prod"}};
  e = policy.explain({"dev"}, entry_kind::tool, "k8s__scale", &args);
  ASSERT_TRUE(e.call.has_value());
  EXPECT_FALSE(e.call->allowed);
  EXPECT_EQ(e.decided_by, "rule dev-namespaces of role dev");
  e = policy.explain({"dev"}, entry_kind::tool, "k8s__delete_namespace");
  EXPECT_FALSE(e.visible);
  EXPECT_NE(e.text().find("hides tool k8s__delete_namespace (deny k8s__delete_namespace)"), std::string::npos)
      << e.text();
  e = policy.explain({"viewer"}, entry_kind::prompt, "docs__x");
  EXPECT_FALSE(e.visible);
  EXPECT_NE(e.text().find("no allow glob matches"), std::string::npos) << e.text();
}

}  // namespace
}  // namespace manifold::access
