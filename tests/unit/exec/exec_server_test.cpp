// An exec server driven over its channel like a host would: listing, calls, refusals that
// run nothing, previews and plans, streaming, cancellation, timeouts and the self-check.
#include <gtest/gtest.h>

#include "exec_test_support.hpp"

namespace manifold::exec {
namespace {

using test::client;
using test::is_error;
using test::scratch;
using test::text_of;
using json = nlohmann::json;

std::string config_yaml(const scratch& dir) {
  return test::replace_all(R"(
servers:
  k8s:
    exec:
      binary: @FIXTURE@
      profile: kubectl
      env:
        set: {RECORD_FILE: "@DIR@/record", PID_FILE: "@DIR@/pids"}
      version: {args: [print, "fixture version v1.30.2"], range: ">=1.25 <2"}
      tools:
        pods_get:
          description: Get one pod.
          argv: [record, get, pod, "{{pod}}", "--namespace={{namespace}}", "-o", json]
          params:
            pod: {type: string, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253, required: true}
            namespace: {type: string, pattern: '^(dev|staging)$', maxLength: 63, default: dev}
          output: {format: json}
          annotations: {readOnlyHint: true, openWorldHint: true}
        logs:
          argv: [lines, "{{count}}"]
          params:
            count: {type: integer, minimum: 1, maximum: 100000, default: 3}
          stream: {max_duration: 20s, lines_per_second: 1000}
          untrusted_output: true
          sensitive: true
        follow:
          argv: [lines-wait, "2"]
          stream: {max_duration: 20s}
        slow:
          argv: [fork-wait]
          timeout: 500ms
          kill_grace: 500ms
        diff:
          argv: [record, diff, -f, "-"]
          stdin: manifest
          params:
            manifest: {type: string, maxLength: 65536, required: true}
          exit_codes: {"1": {ok: true, note: differences found}, "2": {ok: false, note: diff failed}}
        scale_preview:
          argv: [record, scale, "deployment/{{name}}", "--replicas={{replicas}}", "--dry-run=server"]
          params:
            name: {type: string, pattern: '^[a-z0-9-]+$', maxLength: 63, required: true}
            replicas: {type: integer, minimum: 0, maximum: 20, required: true}
          annotations: {readOnlyHint: true}
        scale:
          argv: [record, scale, "deployment/{{name}}", "--replicas={{replicas}}"]
          params:
            name: {type: string, pattern: '^[a-z0-9-]+$', maxLength: 63, required: true}
            replicas: {type: integer, minimum: 0, maximum: 20, required: true}
          preview: scale_preview
          plan_ttl: 2ms
          annotations: {destructiveHint: false, idempotentHint: true}
        forbidden:
          check: [fail, "1", "no: RBAC says you cannot list secrets"]
          argv: [record, get, secrets]
        guarded:
          check: [print, "yes"]
          argv: [record, get, configmaps]
        leaky:
          argv: [record, "--kubeconfig=/tmp/other"]
)",
                           "@DIR@", dir.dir.string());
}

struct exec_server_test : ::testing::Test {
  scratch dir;
  client c{test::server_from(config_yaml(dir))};
  // The recorder writes a file each time it runs: absent means nothing ran.
  bool ran() const { return dir.exists("record"); }
};

TEST_F(exec_server_test, initialize_reports_hidden_tools_and_the_version) {
  const auto init = c.request("initialize", {{"protocolVersion", "2025-06-18"},
                                             {"capabilities", json::object()},
                                             {"clientInfo", {{"name", "t"}, {"version", "1"}}}});
  ASSERT_TRUE(init.contains("result")) << init.dump();
  EXPECT_EQ(init["result"]["protocolVersion"], "2025-06-18");
  EXPECT_TRUE(init["result"]["capabilities"].contains("tools"));
  const auto& report = init["result"]["_meta"]["manifold/exec"];
  EXPECT_EQ(report["version"], "1.30.2");
  std::map<std::string, std::string> hidden;
  for (const auto& h : report["hidden"]) hidden[h["tool"]] = h["reason"];
  ASSERT_EQ(hidden.size(), 2U) << report.dump();
  EXPECT_NE(hidden["forbidden"].find("RBAC says you cannot list secrets"), std::string::npos);
  EXPECT_NE(hidden["leaky"].find("--kubeconfig"), std::string::npos);
  ASSERT_EQ(c.server().hidden().size(), 2U);

  const auto list = c.request("tools/list", json::object());
  std::set<std::string> names;
  for (const auto& t : list["result"]["tools"]) names.insert(t["name"]);
  EXPECT_EQ(names.count("forbidden"), 0U);
  EXPECT_EQ(names.count("guarded"), 1U);
  EXPECT_EQ(names.count("pods_get"), 1U);
  for (const auto& t : list["result"]["tools"]) {
    if (t["name"] == "pods_get") {
      EXPECT_EQ(t["annotations"]["readOnlyHint"], true);
      EXPECT_EQ(t["inputSchema"]["additionalProperties"], false);
      EXPECT_EQ(t["inputSchema"]["required"], json::array({"pod"}));
    }
    if (t["name"] == "logs") {
      EXPECT_EQ(t["_meta"]["manifold/exec"]["sensitive"], true);
      EXPECT_EQ(t["_meta"]["manifold/exec"]["untrusted_output"], true);
    }
    if (t["name"] == "scale") {
      EXPECT_EQ(t["inputSchema"]["required"], json::array({"name", "replicas", "plan_id"}));
      EXPECT_EQ(t["_meta"]["manifold/exec"]["preview"], "scale_preview");
    }
  }
  const auto call = c.call("forbidden", json::object());
  EXPECT_EQ(call["error"]["code"], -32602);
  EXPECT_FALSE(ran());
}

TEST_F(exec_server_test, a_call_runs_the_exact_argv_and_parses_json) {
  const auto reply = c.call("pods_get", {{"pod", "web-7d4b9"}});
  ASSERT_FALSE(is_error(reply)) << reply.dump();
  const auto& s = reply["result"]["structuredContent"];
  EXPECT_EQ(s["argv"], json::array({"get", "pod", "web-7d4b9", "--namespace=dev", "-o", "json"}));
  EXPECT_EQ(reply["result"]["_meta"]["manifold/exec"]["exit_code"], 0);
  EXPECT_TRUE(ran());
}

TEST_F(exec_server_test, the_injection_matrix_is_refused_before_anything_runs) {
  const std::vector<json> attempts{
      {{"pod", "; rm -rf /"}},
      {{"pod", "$(id)"}},
      {{"pod", "`id`"}},
      {{"pod", "web\n--all"}},
      {{"pod", "--kubeconfig=/etc/passwd"}},
      {{"pod", "-n"}},
      {{"pod", "--server=https://attacker"}},
      {{"pod", std::string(5000, 'a')}},
      {{"pod", 42}},
      {{"pod", "web"}, {"namespace", "kube-system"}},
      {{"pod", "web"}, {"output", "go-template-file=/etc/passwd"}},
      {{"pod", nullptr}},
      json::array(),
  };
  for (const auto& args : attempts) {
    const auto reply = c.call("pods_get", args);
    EXPECT_TRUE(is_error(reply)) << args.dump();
    EXPECT_NE(text_of(reply).find("refused the call before running anything"), std::string::npos)
        << text_of(reply);
  }
  EXPECT_FALSE(ran());
}

TEST_F(exec_server_test, plans_bind_a_mutation_to_its_preview) {
  const json args{{"name", "web"}, {"replicas", 3}};
  const auto no_plan = c.call("scale", args);
  EXPECT_TRUE(is_error(no_plan));
  const auto fake =
      c.call("scale", {{"name", "web"}, {"replicas", 3}, {"plan_id", "AAAAAAAAAAAAAAAAAAAAAA"}});
  EXPECT_NE(text_of(fake).find("unknown"), std::string::npos);
  EXPECT_FALSE(ran());

  const auto preview = c.call("scale_preview", args);
  ASSERT_FALSE(is_error(preview)) << preview.dump();
  const auto fresh =
      preview["result"]["_meta"]["manifold/exec"]["plans"]["scale"].get<std::string>();
  const auto t0 = std::chrono::steady_clock::now();
  c.run_until([&] { return std::chrono::steady_clock::now() > t0 + std::chrono::milliseconds(5); });
  std::filesystem::remove(dir.path("record"));
  const auto late = c.call("scale", {{"name", "web"}, {"replicas", 3}, {"plan_id", fresh}});
  EXPECT_NE(text_of(late).find("expired"), std::string::npos) << text_of(late);
  EXPECT_FALSE(ran());
}

TEST(exec_server_plans, a_plan_runs_once) {
  scratch dir;
  auto yaml = config_yaml(dir);
  yaml = test::replace_all(yaml, "plan_ttl: 2ms", "plan_ttl: 10m");
  client c{test::server_from(yaml)};
  const json args{{"name", "web"}, {"replicas", 3}};
  const auto preview = c.call("scale_preview", args);
  const auto plan =
      preview["result"]["_meta"]["manifold/exec"]["plans"]["scale"].get<std::string>();
  EXPECT_NE(text_of(preview).find("plan_id for scale: " + plan), std::string::npos);
  std::filesystem::remove(dir.path("record"));
  const auto other = c.call("scale", {{"name", "web"}, {"replicas", 20}, {"plan_id", plan}});
  EXPECT_NE(text_of(other).find("other arguments"), std::string::npos) << text_of(other);
  EXPECT_FALSE(dir.exists("record"));
  const auto ok = c.call("scale", {{"name", "web"}, {"replicas", 3}, {"plan_id", plan}});
  ASSERT_FALSE(is_error(ok)) << ok.dump();
  EXPECT_EQ(json::parse(dir.read("record"))["argv"],
            json::array({"scale", "deployment/web", "--replicas=3"}));
  std::filesystem::remove(dir.path("record"));
  const auto again = c.call("scale", {{"name", "web"}, {"replicas", 3}, {"plan_id", plan}});
  EXPECT_NE(text_of(again).find("already used"), std::string::npos) << text_of(again);
  EXPECT_FALSE(dir.exists("record"));
}

TEST_F(exec_server_test, stdin_and_the_exit_code_map) {
  const auto reply = c.call("diff", {{"manifest", "kind: Deployment\nmetadata:\n  name: web\n"}});
  ASSERT_FALSE(is_error(reply)) << reply.dump();
  const auto recorded = json::parse(dir.read("record"));
  EXPECT_EQ(recorded["stdin"], "kind: Deployment\nmetadata:\n  name: web\n");
  EXPECT_EQ(recorded["argv"], json::array({"diff", "-f", "-"}));
}

TEST(exec_server_exit_codes, a_mapped_code_is_success_with_its_note) {
  scratch dir;
  auto yaml = test::replace_all(config_yaml(dir), "PID_FILE: ", "FIXTURE_EXIT: \"1\", PID_FILE: ");
  client c{test::server_from(yaml)};
  const auto diff = c.call("diff", {{"manifest", "x: 1"}});
  EXPECT_FALSE(is_error(diff)) << diff.dump();
  EXPECT_NE(text_of(diff).find("exit status 1: differences found"), std::string::npos);
  const auto get = c.call("pods_get", {{"pod", "web"}});
  EXPECT_TRUE(is_error(get));
  EXPECT_NE(text_of(get).find("exit status 1"), std::string::npos);
}

TEST_F(exec_server_test, streaming_sends_progress_lines_and_marks_untrusted_output) {
  const auto reply = c.call("logs", {{"count", 5}}, {{"progressToken", "tok-1"}});
  ASSERT_FALSE(is_error(reply)) << reply.dump();
  std::vector<std::string> lines;
  for (const auto& n : c.notifications) {
    if (n["method"] == "notifications/progress" && n["params"]["progressToken"] == "tok-1") {
      lines.push_back(n["params"]["message"]);
    }
  }
  EXPECT_EQ(lines, (std::vector<std::string>{"line 1", "line 2", "line 3", "line 4", "line 5"}));
  EXPECT_EQ(reply["result"]["_meta"]["manifold/untrusted_output"], true);
  EXPECT_NE(reply["result"]["content"][0]["text"].get<std::string>().find(
                "may contain text written by third parties"),
            std::string::npos);
  EXPECT_NE(text_of(reply).find("line 5"), std::string::npos);
}

TEST_F(exec_server_test, the_line_rate_bounds_progress) {
  const auto reply = c.call("logs", {{"count", 20000}}, {{"progressToken", 7}});
  ASSERT_FALSE(is_error(reply));
  std::size_t progress = 0;
  for (const auto& n : c.notifications)
    progress += n["method"] == "notifications/progress" ? 1U : 0U;
  EXPECT_LT(progress, 20000U);
  EXPECT_NE(text_of(reply).find("were not sent as progress"), std::string::npos);
}

TEST_F(exec_server_test, host_cancel_stops_the_process_group) {
  const auto id = c.send_request(
      "tools/call",
      {{"name", "follow"}, {"arguments", json::object()}, {"_meta", {{"progressToken", "f"}}}});
  ASSERT_TRUE(c.run_until([&] { return c.notifications.size() >= 2; }));
  EXPECT_EQ(c.server().running(), 1U);
  c.send(protocol::make_notification("notifications/cancelled",
                                     {{"requestId", id}, {"reason", "user"}}));
  EXPECT_TRUE(c.run_until([&] { return c.server().running() == 0; }));
  EXPECT_TRUE(
      c.wait_reply(id, std::chrono::milliseconds(200)).is_null());  // no reply to a cancelled call
}

TEST_F(exec_server_test, a_timeout_kills_the_group_and_says_so) {
  const auto reply = c.call("slow", json::object());
  EXPECT_TRUE(is_error(reply));
  EXPECT_NE(text_of(reply).find("timed out after 500ms"), std::string::npos) << text_of(reply);
  std::istringstream pids(dir.read("pids"));
  long pid = 0;
  int n = 0;
  while (pids >> pid) {
    ++n;
    EXPECT_TRUE(test::wait_gone(pid));
  }
  EXPECT_EQ(n, 2);
}

TEST_F(exec_server_test, unknown_tools_and_methods_are_errors) {
  EXPECT_EQ(c.call("nothing", json::object())["error"]["code"], -32602);
  EXPECT_EQ(c.request("resources/list", json::object())["error"]["code"], -32601);
  EXPECT_EQ(c.request("ping", json::object())["result"], json::object());
}

TEST(exec_server_versions, a_version_outside_the_range_hides_every_tool) {
  scratch dir;
  client c{test::server_from(test::replace_all(config_yaml(dir), ">=1.25 <2", ">=2"))};
  const auto list = c.request("tools/list", json::object());
  EXPECT_TRUE(list["result"]["tools"].empty()) << list.dump();
  ASSERT_FALSE(c.server().hidden().empty());
  EXPECT_NE(c.server().hidden()[0].reason.find("outside the supported range >=2"),
            std::string::npos);
}

TEST(exec_server_limits, runs_beyond_max_concurrent_are_refused) {
  scratch dir;
  auto yaml = test::replace_all(config_yaml(dir), "      tools:\n",
                                "      max_concurrent: 1\n      tools:\n");
  client c{test::server_from(yaml)};
  const auto first =
      c.send_request("tools/call", {{"name", "follow"}, {"arguments", json::object()}});
  ASSERT_TRUE(c.run_until([&] { return c.server().running() == 1; }));
  const auto busy = c.call("pods_get", {{"pod", "web"}});
  EXPECT_TRUE(is_error(busy));
  EXPECT_NE(text_of(busy).find("busy"), std::string::npos);
  c.send(protocol::make_notification("notifications/cancelled", {{"requestId", first}}));
  EXPECT_TRUE(c.run_until([&] { return c.server().running() == 0; }));
}

}  // namespace
}  // namespace manifold::exec
