// Arguments, argv rendering and the deny-list: pure functions over a declared tool.
#include "manifold/exec/render.hpp"

#include <gtest/gtest.h>

#include <random>

#include "exec_test_support.hpp"
#include "manifold/exec/arguments.hpp"
#include "manifold/exec/deny_list.hpp"

namespace manifold::exec {
namespace {

using test::server_from;
using json = nlohmann::json;

const char* const pods_yaml = R"(
servers:
  k8s:
    exec:
      binary: @FIXTURE@
      profile: kubectl
      tools:
        logs:
          argv: [logs, "{{pod}}", "--namespace={{namespace}}", "--container={{container}}?",
                 "--tail={{tail}}", {when: previous, args: [--previous]}, "--selector={{selector}}?",
                 "--label={{labels}}", "{{extra}}"]
          params:
            pod: {type: string, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253, required: true}
            namespace: {type: string, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63, default: default}
            container: {type: string, maxLength: 63}
            tail: {type: integer, minimum: 1, maximum: 2000, default: 100}
            previous: {type: boolean, default: false}
            selector: {type: string, maxLength: 256}
            labels: {type: array, items: {type: string, maxLength: 40}, maxItems: 5, default: []}
            extra: {type: array, items: {type: string, maxLength: 40}, maxItems: 3, default: []}
)";

struct fixture_tool {
  config::server_config server = server_from(pods_yaml);
  const config::exec_tool& tool = server.exec->tools.at(0);
  argument_checker checker{tool};

  render_outcome render(const json& args) {
    const auto checked = checker.check(args);
    if (!checked.ok()) return {{}, checked.error};
    auto out = render_command(tool, checked.values);
    if (out.ok()) {
      if (auto why = denied("kubectl", out.command, {}, {}); !why.empty()) out.error = why;
    }
    return out;
  }
};

TEST(exec_render, fills_slots_defaults_and_conditional_elements) {
  fixture_tool f;
  const auto r = f.render({{"pod", "web-1"}});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.command.argv,
            (std::vector<std::string>{"logs", "web-1", "--namespace=default", "--tail=100"}));
  const auto r2 = f.render({{"pod", "web-1"},
                            {"container", "app"},
                            {"previous", true},
                            {"tail", 5},
                            {"labels", {"a=b", "c"}},
                            {"extra", {"x", "y"}}});
  ASSERT_TRUE(r2.ok()) << r2.error;
  EXPECT_EQ(r2.command.argv, (std::vector<std::string>{"logs", "web-1", "--namespace=default",
                                                       "--container=app", "--tail=5", "--previous",
                                                       "--label=a=b", "--label=c", "x", "y"}));
  EXPECT_EQ(r2.command.literal, (std::vector<bool>{true, false, false, false, false, true, false,
                                                   false, false, false}));
}

TEST(exec_render, publishes_exactly_the_declared_schema) {
  fixture_tool f;
  const auto& s = f.checker.input_schema();
  EXPECT_EQ(s["type"], "object");
  EXPECT_EQ(s["additionalProperties"], false);
  EXPECT_EQ(s["required"], json::array({"pod"}));
  EXPECT_EQ(s["properties"].size(), 8U);
  EXPECT_EQ(s["properties"]["tail"]["maximum"], 2000);
  EXPECT_FALSE(s["properties"]["pod"].contains("required"));
}

TEST(exec_render, refuses_injection_before_anything_runs) {
  fixture_tool f;
  const std::vector<std::pair<json, std::string>> cases{
      {{{"pod", "; rm -rf /"}}, "breaks its rule"},
      {{{"pod", "$(id)"}}, "breaks its rule"},
      {{{"pod", "`id`"}}, "breaks its rule"},
      {{{"pod", "web\nrm"}}, "line break"},
      {{{"pod", "--kubeconfig=/etc/passwd"}}, "breaks its rule"},
      {{{"pod", "--server=https://attacker"}}, "breaks its rule"},
      {{{"pod", "-x"}}, "breaks its rule"},
      {{{"pod", std::string(300, 'a')}}, "longer than 253"},
      {{{"pod", 12}}, "breaks its rule"},
      {{{"pod", "web"}, {"tail", "ten"}}, "breaks its rule"},
      {{{"pod", "web"}, {"tail", 5000}}, "breaks its rule"},
      {{{"pod", "web"}, {"verbose", true}}, "unknown parameter `verbose`"},
      {{{"pod", "web"}, {"container", std::string("a\0b", 3)}}, "NUL"},
      {{{"pod", "web"}, {"extra", {"-s", "x"}}}, "may not start with `-`"},
      {{{"pod", "web"}, {"extra", {"a", "b", "c", "d"}}}, "more than 3 items"},
      {json::array({1, 2}), "must be an object"},
  };
  for (const auto& [args, expected] : cases) {
    const auto r = f.render(args);
    EXPECT_FALSE(r.ok()) << args.dump();
    EXPECT_NE(r.error.find(expected), std::string::npos) << args.dump() << " -> " << r.error;
  }
}

TEST(exec_render, a_value_after_equals_may_start_with_a_dash_and_stays_one_element) {
  fixture_tool f;
  const auto r = f.render({{"pod", "web"}, {"selector", "--server=https://attacker"}});
  ASSERT_TRUE(r.ok()) << r.error;
  EXPECT_EQ(r.command.argv.back(), "--selector=--server=https://attacker");
}

TEST(exec_deny_list, checks_the_final_argv_per_profile) {
  const auto cmd = [](std::vector<std::string> argv, std::vector<bool> literal = {}) {
    rendered_command c;
    c.binary = "/usr/bin/x";
    c.literal = literal.empty() ? std::vector<bool>(argv.size(), false) : literal;
    c.argv = std::move(argv);
    return c;
  };
  EXPECT_NE(denied("kubectl", cmd({"get", "pods", "--kubeconfig=/etc/passwd"}), {}, {}), "");
  EXPECT_NE(denied("kubectl", cmd({"get", "pods", "--kube_config"}), {"--kube-config"}, {}), "");
  EXPECT_NE(denied("kubectl", cmd({"get", "-s", "https://x"}), {}, {}), "");
  EXPECT_NE(denied("kubectl", cmd({"get", "-As"}), {}, {}), "");
  EXPECT_NE(denied("kubectl", cmd({"--insecure_skip_tls_verify=true"}), {}, {}), "");
  EXPECT_NE(denied("kubectl", cmd({"apply", "-f", "/etc/passwd"}), {}, {}), "");
  EXPECT_EQ(denied("kubectl", cmd({"apply", "-f", "-"}), {}, {}), "");
  EXPECT_NE(denied("kubectl", cmd({"get", "-o", "go-template-file=/etc/x"}), {}, {}), "");
  EXPECT_EQ(denied("kubectl", cmd({"get", "pods", "-o", "json"}), {}, {}), "");
  EXPECT_NE(
      denied("aws", cmd({"ec2", "x", "--filters", "Name=a,Values=file:///etc/passwd"}), {}, {}),
      "");
  EXPECT_NE(denied("aws", cmd({"ec2", "x", "FILEB://k"}), {}, {}), "");
  EXPECT_NE(denied("aws", cmd({"ec2", "--endpoint-url=http://evil"}), {}, {}), "");
  EXPECT_EQ(denied("aws", cmd({"ec2", "--endpoint-url=http://127.0.0.1:9"}, {true, true}), {},
                   {"--endpoint-url"}),
            "");
  EXPECT_NE(denied("aws", cmd({"ec2", "--endpoint-url=http://127.0.0.1:9"}, {true, false}), {},
                   {"--endpoint-url"}),
            "");
  EXPECT_NE(denied("aws", cmd({"ec2", "--profile", "prod"}), {}, {}), "");
  EXPECT_NE(denied("gh", cmd({"workflow", "run", "-F", "x=@/etc/passwd"}), {}, {}), "");
  EXPECT_NE(denied("gh", cmd({"api", "@/etc/passwd"}), {}, {}), "");
  EXPECT_NE(denied("gh", cmd({"run", "list", "--hostname=evil"}), {}, {}), "");
  EXPECT_NE(denied("helm", cmd({"upgrade", "x", "--post-renderer", "/bin/sh"}), {}, {}), "");
  EXPECT_NE(denied("helm", cmd({"upgrade", "x", "--repo=http://charts.example"}), {}, {}), "");
  EXPECT_EQ(denied("helm", cmd({"upgrade", "x", "--repo=https://charts.example"}), {}, {}), "");
  EXPECT_NE(denied("helm", cmd({"upgrade", "x", "-f", "values.yaml"}), {}, {}), "");
  EXPECT_EQ(denied("helm", cmd({"upgrade", "x", "--values=-"}), {}, {}), "");
  EXPECT_NE(denied("argocd", cmd({"app", "get", "x", "--auth-token=t"}), {}, {}), "");
  EXPECT_EQ(profile_of("", "/usr/bin/kubectl"), "kubectl");
  EXPECT_EQ(profile_of("", "/opt/x/tool"), "none");
  EXPECT_EQ(profile_of("helm", "/opt/x/fake"), "helm");
}

// Random values that pass the schema always land as exactly one argv element in their slot,
// and the final argv always passes the deny-list.
TEST(exec_render, property_every_accepted_value_is_one_element_in_its_slot) {
  const auto server = server_from(R"(
servers:
  k:
    exec:
      binary: @FIXTURE@
      profile: kubectl
      tools:
        t:
          argv: [get, "{{kind}}", "{{name}}", "--namespace={{ns}}", "--selector={{sel}}", "-o", "{{out}}"]
          params:
            kind: {type: string, enum: [pods, deployments, "-s", "--token=x"], required: true}
            name: {type: string, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 20, required: true}
            ns: {type: string, pattern: '^[a-z0-9-]{1,20}$', maxLength: 20, required: true}
            sel: {type: string, maxLength: 30, required: true}
            out: {type: string, enum: [json, yaml, wide], required: true}
)");
  const auto& tool = server.exec->tools.at(0);
  argument_checker checker(tool);
  std::mt19937 rng(20260901);
  // Mostly characters a name may hold, sometimes shell and option metacharacters.
  const std::string plain = "abz09-.";
  const std::string hostile = "=;$`()|&<>'\"\\ /@:*?!~#\t-";
  const auto random_string = [&](std::size_t max) {
    std::string s;
    const auto n = std::uniform_int_distribution<std::size_t>(0, max)(rng);
    for (std::size_t i = 0; i < n; ++i) {
      const auto& from = std::uniform_int_distribution<int>(0, 9)(rng) == 0 ? hostile : plain;
      s += from[std::uniform_int_distribution<std::size_t>(0, from.size() - 1)(rng)];
    }
    return s;
  };
  const std::vector<std::string> kinds{"pods", "deployments", "-s", "--token=x", "secrets"};
  int accepted = 0;
  for (int i = 0; i < 20000; ++i) {
    json args{{"kind", kinds[static_cast<std::size_t>(i) % kinds.size()]},
              {"name", random_string(8)},
              {"ns", random_string(6)},
              {"sel", random_string(12)},
              {"out", i % 3 == 0 ? "json" : random_string(4)}};
    const auto checked = checker.check(args);
    if (!checked.ok()) continue;
    const auto r = render_command(tool, checked.values);
    if (!r.ok()) continue;
    if (!denied("kubectl", r.command, {}, {}).empty()) continue;
    ++accepted;
    const auto& argv = r.command.argv;
    ASSERT_EQ(argv.size(), 7U);
    EXPECT_EQ(argv[1], args["kind"].get<std::string>());
    EXPECT_EQ(argv[2], args["name"].get<std::string>());
    EXPECT_EQ(argv[3], "--namespace=" + args["ns"].get<std::string>());
    EXPECT_EQ(argv[4], "--selector=" + args["sel"].get<std::string>());
    EXPECT_EQ(argv[6], args["out"].get<std::string>());
    for (std::size_t k = 1; k < 3; ++k) EXPECT_NE(argv[k].front(), '-') << argv[k];
  }
  EXPECT_GT(accepted, 200);
}

}  // namespace
}  // namespace manifold::exec
