#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "manifold/access/api_key_store.hpp"
#include "manifold/access/audit_log.hpp"
#include "manifold/access/commands.hpp"
#include "manifold/access/identity_token.hpp"
#include "manifold/config/config_loader.hpp"

namespace manifold::access {
namespace {

using namespace std::chrono_literals;
const auto now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));
const std::string key(32, 'K');

TEST(identity_token, signed_claims_toward_an_upstream) {
  const principal alice{"alice", {"dev", "ops"}, auth_method::jwt, nullptr, {}};
  const auto token = sign_identity(alice, key, 60s, now, "k8s");
  std::string why;
  const auto claims = verify_identity(token, key, now + 10s, "k8s", why);
  ASSERT_TRUE(claims) << why;
  EXPECT_EQ(claims->subject, "alice");
  EXPECT_EQ(claims->roles, (std::vector<std::string>{"dev", "ops"}));
  EXPECT_EQ(claims->auth, "jwt");
  EXPECT_EQ(claims->audience, "k8s");
  EXPECT_EQ(claims->expires, now + 60s);
  EXPECT_FALSE(verify_identity(token, std::string(32, 'X'), now, "k8s", why));
  EXPECT_EQ(why, "bad signature");
  EXPECT_FALSE(verify_identity(token, key, now + 91s, "k8s", why));
  EXPECT_EQ(why, "token expired");
  EXPECT_FALSE(verify_identity(token, key, now, "other", why));
  EXPECT_EQ(why, "wrong audience");
  EXPECT_EQ(token.find(key), std::string::npos);
}

TEST(commands, key_hash_and_new) {
  std::istringstream in("mfd_example_key\r\n");
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run_key_hash(in, out, err), 0);
  const auto line = out.str();
  ASSERT_EQ(line.back(), '\n');
  const api_key_store store({{"p", line.substr(0, line.size() - 1), {}, {}}});
  EXPECT_NE(store.find("mfd_example_key"), nullptr);
  std::istringstream empty("");
  EXPECT_EQ(run_key_hash(empty, out, err), 2);
  std::ostringstream fresh;
  EXPECT_EQ(run_key_new(fresh), 0);
  EXPECT_NE(fresh.str().find("key:  mfd_"), std::string::npos);
  EXPECT_NE(fresh.str().find("hash: sha256$"), std::string::npos);
}

TEST(commands, audit_verify_exit_codes) {
  const auto path = ::testing::TempDir() + "/audit_cmd.jsonl";
  std::remove(path.c_str());
  std::string error;
  {
    auto log = audit_log::open({path, false, config::audit_arguments::keys, {}, ""}, error);
    ASSERT_NE(log, nullptr);
    for (int i = 0; i < 3; ++i) log->write({});
  }
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run_audit_verify(path, out, err), 0);
  EXPECT_NE(out.str().find("3 lines, chain intact"), std::string::npos) << out.str();
  std::string text;
  {
    std::ifstream in(path);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text[text.find("anonymous")] = 'A';  // first line
  {
    std::ofstream o(path, std::ios::trunc);
    o << text;
  }
  EXPECT_EQ(run_audit_verify(path, out, err), 1);
  EXPECT_NE(err.str().find(path + ":2: tampered"), std::string::npos) << err.str();
  EXPECT_EQ(run_audit_verify(path + ".none", out, err), 2);
}

TEST(commands, explain) {
  const auto cfg = config::parse_config(R"(
auth:
  api_keys:
    - {principal: ci, hash: "sha256$00112233445566778899aabbccddeeff$)" + std::string(64, 'a') + R"(", roles: [dev]}
roles:
  dev:
    tools: ["k8s__*"]
    rules:
      - {name: dev-ns, tools: [k8s__scale], when: {namespace: {pattern: "^dev-"}}}
  ops:
    tools: ["*"]
)",
                                        "c.yaml", [](const std::string&) { return std::nullopt; });
  std::ostringstream out;
  std::ostringstream err;
  EXPECT_EQ(run_explain(cfg, {"ci", {}, "k8s__scale", ""}, out, err), 0);
  EXPECT_NE(out.str().find("principal ci, roles dev"), std::string::npos) << out.str();
  EXPECT_NE(out.str().find("rule dev-ns"), std::string::npos) << out.str();
  out.str("");
  EXPECT_EQ(run_explain(cfg, {"ci", {}, "k8s__scale", R"({"namespace":"prod"})"}, out, err), 1);
  EXPECT_NE(out.str().find("decided by: rule dev-ns of role dev"), std::string::npos) << out.str();
  out.str("");
  EXPECT_EQ(run_explain(cfg, {"someone", {"ops"}, "aws__x", ""}, out, err), 0);
  EXPECT_EQ(run_explain(cfg, {"someone", {}, "aws__x", ""}, out, err), 1);
  EXPECT_EQ(run_explain(cfg, {"someone", {}, "aws__x", "[1]"}, out, err), 2);
}

}  // namespace
}  // namespace manifold::access
