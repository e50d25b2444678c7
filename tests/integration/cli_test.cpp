// The manifold command line: check, catalog, exit codes and config errors with positions.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <map>

#include "host_process.hpp"

namespace manifold::test {
namespace {

struct run_result {
  int exit_code = -1;
  std::string out;
  std::string err;
};

run_result run(const std::vector<std::string>& args) {
  std::vector<std::string> argv{MANIFOLD_BIN};
  argv.insert(argv.end(), args.begin(), args.end());
  host_process p(argv);
  p.close_stdin();
  run_result r;
  const auto out = p.read_all_raw(30s);
  const auto status = p.wait_exit(30s);
  if (status && WIFEXITED(*status)) r.exit_code = WEXITSTATUS(*status);
  r.out = out;
  r.err = p.stderr_text();
  return r;
}

TEST(cli, check_reports_every_config_error_with_file_line_and_column) {
  temp_dir dir;
  const auto path = dir.write("bad.yaml",
                              "naming:\n"
                              "  separator: \"__\"\n"
                              "servers:\n"
                              "  good:\n"
                              "    command: /bin/true\n"
                              "  bad:\n"
                              "    comand: /bin/true\n"
                              "  worse:\n"
                              "    command: /bin/true\n"
                              "    timeout: soon\n"
                              "  empty:\n"
                              "    args: [x]\n");
  const auto r = run({"check", "--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(path + ":7:5: servers.bad.comand: unknown key `comand`"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find(path + ":10:14: servers.worse.timeout: expected a positive duration"),
            std::string::npos) << r.err;
  EXPECT_NE(r.err.find(path + ":11:3: servers.empty: a server needs either `command`"),
            std::string::npos) << r.err;
}

TEST(cli, check_accepts_a_valid_config) {
  temp_dir dir;
  const auto path = dir.write("ok.yaml", "servers:\n  a:\n    command: /bin/true\n");
  const auto r = run({"check", "--config", path});
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST(cli, serve_refuses_a_bad_config_with_exit_code_2) {
  temp_dir dir;
  const auto path = dir.write("bad.yaml", "servers: [1, 2\n");
  const auto r = run({"serve", "--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find(path + ":"), std::string::npos);
  EXPECT_NE(r.err.find("YAML syntax error"), std::string::npos) << r.err;
}

TEST(cli, missing_config_file_is_a_config_error) {
  const auto r = run({"check", "--config", "/nonexistent/manifold.yaml"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("cannot open"), std::string::npos);
}

TEST(cli, catalog_lists_every_tool_with_its_origin_and_reports_collisions) {
  temp_dir dir;
  const std::string fake = FAKE_SERVER_BIN;
  // "a" + "b__echo" and "a__b" + "echo" both become a__b__echo.
  const auto path = dir.write("c.yaml", "servers:\n"
                                        "  a:\n    command: " + fake + "\n    args: [--tool-prefix, b__]\n"
                                        "  a__b:\n    command: " + fake + "\n"
                                        "  down:\n    command: " + fake + "\n    args: [--exit-at-start, 1]\n");
  const auto r = run({"catalog", "--config", path, "--format", "json"});
  EXPECT_EQ(r.exit_code, 1) << "an upstream failed, so catalog says so";
  const auto out = json::parse(r.out);
  EXPECT_EQ(out["tools"].size(), 14U);  // the fake server's fixed tools
  for (const auto& t : out["tools"]) EXPECT_EQ(t["server"], "a");
  ASSERT_EQ(out["collisions"].size(), 14U);
  EXPECT_EQ(out["collisions"][0]["name"], "a__b__echo");
  EXPECT_EQ(out["collisions"][0]["kept"]["server"], "a");
  EXPECT_EQ(out["collisions"][0]["kept"]["original"], "b__echo");
  EXPECT_EQ(out["collisions"][0]["dropped"]["server"], "a__b");
  EXPECT_EQ(out["collisions"][0]["dropped"]["original"], "echo");
  EXPECT_TRUE(out["upstreams"][2].contains("problem"));
  EXPECT_NE(r.err.find("name collision on tool a__b__echo"), std::string::npos) << r.err;

  const auto table = run({"catalog", "--config", path});
  EXPECT_NE(table.out.find("a__b__echo"), std::string::npos);
  EXPECT_NE(table.out.find("collision (tool): a__b__echo: [a] b__echo kept, [a__b] echo left out"),
            std::string::npos) << table.out;
}

TEST(cli, call_prints_the_result_and_exits_by_outcome) {
  temp_dir dir;
  const std::string fake = FAKE_SERVER_BIN;
  const auto path = dir.write("c.yaml", "servers:\n  f:\n    command: " + fake + "\n");
  auto r = run({"call", "--config", path, "f__echo", "--args", R"({"text":"hello"})"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(json::parse(r.out)["result"]["structuredContent"]["text"], "hello");
  r = run({"call", "--config", path, "f__fail"});
  EXPECT_EQ(r.exit_code, 1) << "an isError result";
  EXPECT_EQ(json::parse(r.out)["result"]["isError"], true);
  r = run({"call", "--config", path, "f__nope"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_EQ(json::parse(r.out)["error"]["code"], -32602);
  r = run({"call", "--config", path, "f__echo", "--args", "[1]"});
  EXPECT_EQ(r.exit_code, 2);
}

// Hardening 15: `call --config` takes the path a host's call takes: argument constraints,
// hidden arguments and groups apply.
TEST(cli, call_applies_argument_rules_hidden_arguments_and_groups) {
  temp_dir dir;
  const std::string fake = FAKE_SERVER_BIN;
  const auto path = dir.write("c.yaml", "servers:\n  f:\n    command: " + fake + "\n"
                                        "tools:\n  f__inspect:\n    arguments:\n"
                                        "      limit: {maximum: 5}\n"
                                        "      tenant: {hidden: true, value: acme}\n"
                                        "groups:\n  readonly:\n    include: [\"f__echo\"]\n");
  auto r = run({"call", "--config", path, "f__inspect", "--args", R"({"limit":50})"});
  EXPECT_EQ(r.exit_code, 1);
  const auto refused = json::parse(r.out);
  EXPECT_EQ(refused["result"]["isError"], true) << r.out;
  EXPECT_NE(refused["result"]["content"][0]["text"].get<std::string>().find("`limit`"), std::string::npos);
  r = run({"call", "--config", path, "f__inspect", "--args", R"({"limit":3,"tenant":"evil"})"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto seen = json::parse(json::parse(r.out)["result"]["content"][0]["text"].get<std::string>());
  EXPECT_EQ(seen["params"]["arguments"]["tenant"], "acme") << "the hidden value wins";
  r = run({"call", "--config", path, "--group", "readonly", "f__inspect"});
  EXPECT_EQ(json::parse(r.out)["error"]["code"], -32602) << "outside the group: unknown";
  r = run({"call", "--config", path, "--group", "readonly", "f__echo", "--args", R"({"text":"in"})"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  r = run({"call", "--config", path, "--group", "nope", "f__echo"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST(cli, collisions_and_explain_tell_every_names_story) {
  temp_dir dir;
  const std::string fake = FAKE_SERVER_BIN;
  const auto path = dir.write("c.yaml",
                              "naming:\n  max_length: 24\n  on_collision: priority\n  prefix: when-needed\n"
                              "servers:\n"
                              "  alpha:\n    command: " + fake + "\n    args: [--tools, '2']\n"
                              "    tools: {deny: [\"crash\", \"gar*\"]}\n"
                              "  beta:\n    command: " + fake + "\n    priority: 5\n"
                              "    args: [--tool-prefix, a-very-long-prefix-for-names.]\n");
  const auto r = run({"collisions", "--config", path, "--format", "json"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  const auto out = json::parse(r.out);
  std::map<std::string, json> by_original;
  for (const auto& e : out["entries"]) by_original[e["server"].get<std::string>() + "/" + e["original"].get<std::string>()] = e;
  // Shared names get prefixed, the rest pass through.
  EXPECT_EQ(by_original["alpha/gen-00001"]["name"], "gen-00001");
  // beta's long dotted names are mapped and shortened, and say so.
  const auto& long_name = by_original["beta/a-very-long-prefix-for-names.echo"];
  EXPECT_LE(long_name["name"].get<std::string>().size(), 24U);
  EXPECT_EQ(long_name["decisions"].size(), 2U) << long_name.dump();
  // Denied tools are hidden, each with its rule.
  ASSERT_EQ(out["filtered"].size(), 2U);
  EXPECT_EQ(out["filtered"][0]["rule"], "tools.deny `crash`");
  EXPECT_EQ(out["filtered"][1]["rule"], "tools.deny `gar*`");

  auto story = run({"catalog", "--config", path, "--explain", "crash"});
  EXPECT_EQ(story.exit_code, 1);
  EXPECT_NE(story.out.find("is hidden by tools.deny `crash`"), std::string::npos) << story.out;
  story = run({"catalog", "--config", path, "--explain", "gen-00001"});
  EXPECT_EQ(story.exit_code, 0);
  EXPECT_NE(story.out.find("passed through unchanged"), std::string::npos) << story.out;
  story = run({"catalog", "--config", path, "--explain", "no-such-tool"});
  EXPECT_EQ(story.exit_code, 1);
  EXPECT_NE(story.out.find("offered by no upstream"), std::string::npos);
}

TEST(cli, on_collision_error_refuses_to_serve) {
  temp_dir dir;
  const std::string fake = FAKE_SERVER_BIN;
  const auto path = dir.write("c.yaml", "naming:\n  prefix: never\n  on_collision: error\nservers:\n"
                                        "  a:\n    command: " + fake + "\n  b:\n    command: " + fake + "\n");
  const auto r = run({"catalog", "--config", path});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("name collision on tool echo: [a] echo and [b] echo"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("refusing to serve"), std::string::npos);
}

TEST(cli, a_host_config_serves_as_is_and_imports_to_yaml) {
  temp_dir dir;
  const std::string fake = FAKE_SERVER_BIN;
  const auto path = dir.write("claude_desktop_config.json",
                              "{\"mcpServers\": {\"my tools\": {\"command\": \"" + fake +
                                  "\", \"args\": [\"--name\", \"x\"]}}}");
  const auto catalog = run({"catalog", "--config", path, "--format", "json"});
  EXPECT_EQ(catalog.exit_code, 0) << catalog.err;
  EXPECT_EQ(json::parse(catalog.out)["tools"][0]["name"], "my_tools__echo");
  const auto imported = run({"import", path});
  EXPECT_EQ(imported.exit_code, 0);
  EXPECT_NE(imported.out.find("  my_tools:\n    command: \"" + fake + "\""), std::string::npos) << imported.out;
  const auto yaml = dir.write("imported.yaml", imported.out);
  EXPECT_EQ(run({"check", "--config", yaml}).exit_code, 0);
}

TEST(cli, diff_reports_added_removed_renamed_and_changed_tools) {
  temp_dir dir;
  const std::string fake = FAKE_SERVER_BIN;
  const auto before = dir.write("before.yaml", "servers:\n  f:\n    command: " + fake + "\n    args: [--tools, '2']\n");
  const auto after = dir.write("after.yaml",
                               "tools:\n  f__echo: {name: say}\n  f__slow: {description: Now different.}\n"
                               "servers:\n  f:\n    command: " + fake + "\n    args: [--tools, '1']\n");
  const auto saved = run({"catalog", "--config", before, "--format", "json"});
  ASSERT_EQ(saved.exit_code, 0);
  const auto saved_path = dir.write("before.json", saved.out);
  EXPECT_EQ(run({"diff", "--config", before, "--against", saved_path}).exit_code, 0) << "no differences";

  const auto r = run({"diff", "--config", after, "--against", saved_path, "--format", "json"});
  EXPECT_EQ(r.exit_code, 1);
  const auto report = json::parse(r.out);
  ASSERT_EQ(report["removed"].size(), 1U);
  EXPECT_EQ(report["removed"][0]["name"], "f__gen-00001");
  ASSERT_EQ(report["renamed"].size(), 1U);
  EXPECT_EQ(report["renamed"][0]["from"], "f__echo");
  EXPECT_EQ(report["renamed"][0]["to"], "say");
  ASSERT_EQ(report["changed"].size(), 1U);
  EXPECT_EQ(report["changed"][0]["name"], "f__slow");
  EXPECT_EQ(report["changed"][0]["fields"], json::array({"description"}));
  EXPECT_TRUE(report["added"].empty());
}

TEST(cli, version_and_help) {
  host_process p({MANIFOLD_BIN, "--version"});
  EXPECT_TRUE(p.wait_exit(10s));
  host_process h({MANIFOLD_BIN, "--help"});
  const auto status = h.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_EQ(WEXITSTATUS(*status), 0);
}

}  // namespace
}  // namespace manifold::test
