#include "manifold/config/config_loader.hpp"

#include <gtest/gtest.h>

#include "manifold/config/config_error.hpp"
#include "manifold/config/units.hpp"

namespace manifold::config {
namespace {

env_lookup fake_env(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<diagnostic> errors_of(const std::string& text) {
  try {
    parse_config(text, "test.yaml", fake_env({}));
  } catch (const config_error& e) {
    return e.diagnostics();
  }
  return {};
}

TEST(config_loader, reads_every_field_and_keeps_server_order) {
  const auto cfg = parse_config(R"(
naming:
  separator: "."
  charset: spec
limits:
  max_message_size: 1MiB
servers:
  zeta:
    command: node
    args: [server.js, --port, 0]
    env: {TOKEN: "${TOKEN}", MODE: "${MODE:-fast}"}
    cwd: /srv
    timeout: 500ms
    startup_timeout: 2m
  alpha:
    url: https://example.test/mcp
    headers: {Authorization: "Bearer ${TOKEN}"}
    namespace: kb
)", "c.yaml", fake_env({{"TOKEN", "s3cret"}}));
  EXPECT_EQ(cfg.naming.separator, ".");
  EXPECT_EQ(cfg.limits.max_message_bytes, 1024U * 1024U);
  ASSERT_EQ(cfg.servers.size(), 2U);
  const auto& z = cfg.servers[0];
  EXPECT_EQ(z.name, "zeta");
  EXPECT_EQ(z.namespace_, "zeta");
  EXPECT_EQ(z.command, "node");
  EXPECT_EQ(z.args, (std::vector<std::string>{"server.js", "--port", "0"}));
  EXPECT_EQ(z.env.at("TOKEN"), "s3cret");
  EXPECT_EQ(z.env.at("MODE"), "fast");
  EXPECT_EQ(z.cwd, "/srv");
  EXPECT_EQ(z.timeout, std::chrono::milliseconds(500));
  EXPECT_EQ(z.startup_timeout, std::chrono::minutes(2));
  EXPECT_EQ(z.position.line, 8);
  EXPECT_EQ(z.transport, transport_kind::stdio);
  const auto& a = cfg.servers[1];
  EXPECT_EQ(a.namespace_, "kb");
  EXPECT_EQ(a.transport, transport_kind::automatic);
  EXPECT_EQ(a.headers.at("Authorization"), "Bearer s3cret");
}

TEST(config_loader, defaults) {
  const auto cfg = parse_config("servers:\n  a:\n    command: x\n", "c.yaml", fake_env({}));
  EXPECT_EQ(cfg.naming.separator, "__");
  EXPECT_EQ(cfg.limits.max_message_bytes, 4U * 1024U * 1024U);
  EXPECT_EQ(cfg.servers[0].timeout, std::chrono::seconds(60));
  EXPECT_EQ(cfg.servers[0].startup_timeout, std::chrono::seconds(30));
}

struct error_case {
  const char* yaml;
  int line;
  int column;
  const char* path;
  const char* message_part;
};

class config_errors : public ::testing::TestWithParam<error_case> {};

TEST_P(config_errors, name_line_column_and_path) {
  const auto& c = GetParam();
  const auto errors = errors_of(c.yaml);
  ASSERT_FALSE(errors.empty()) << c.yaml;
  const auto& d = errors.front();
  EXPECT_EQ(d.position.file, "test.yaml");
  EXPECT_EQ(d.position.line, c.line) << d.to_string();
  EXPECT_EQ(d.position.column, c.column) << d.to_string();
  EXPECT_EQ(d.path, c.path) << d.to_string();
  EXPECT_NE(d.message.find(c.message_part), std::string::npos) << d.to_string();
}

INSTANTIATE_TEST_SUITE_P(
    table, config_errors,
    ::testing::Values(
        error_case{"", 0, 0, "", "empty"},
        error_case{"- a\n- b\n", 1, 1, "", "expected a mapping"},
        error_case{"server:\n  a: {}\n", 1, 1, "server", "unknown key `server`"},
        error_case{"servers:\n  a:\n    comand: x\n", 3, 5, "servers.a.comand", "unknown key"},
        error_case{"servers:\n  a:\n    args: [x]\n", 2, 3, "servers.a", "needs either `command`"},
        error_case{"servers:\n  a:\n    command: x\n    url: http://h/\n", 2, 3, "servers.a", "not both"},
        error_case{"servers:\n  a:\n    command: x\n    timeout: soon\n", 4, 14, "servers.a.timeout", "duration"},
        error_case{"servers:\n  a:\n    command: x\n    timeout: 0s\n", 4, 14, "servers.a.timeout", "positive"},
        error_case{"servers:\n  a:\n    command: [x]\n", 3, 14, "servers.a.command", "expected a string"},
        error_case{"servers:\n  a:\n    command: x\n    args: x\n", 4, 11, "servers.a.args", "list of strings"},
        error_case{"servers:\n  a:\n    command: x\n    args: [[1]]\n", 4, 12, "servers.a.args[0]", "expected a string"},
        error_case{"servers:\n  a:\n    command: x\n    env: [1]\n", 4, 10, "servers.a.env", "mapping"},
        error_case{"servers:\n  a:\n    command: \"${NOPE}\"\n", 3, 14, "servers.a.command", "NOPE is not set"},
        error_case{"servers:\n  a:\n    url: ftp://x\n", 3, 10, "servers.a.url", "http://"},
        error_case{"servers:\n  a:\n    url: http://x\n    transport: carrier-pigeon\n", 4, 16, "servers.a.transport", "one of"},
        error_case{"servers:\n  a b:\n    command: x\n", 2, 3, "servers.a b", "[A-Za-z0-9_-]"},
        error_case{"naming:\n  separator: \"/\"\n", 2, 14, "naming.separator", "1-8 characters"},
        error_case{"limits:\n  max_message_size: lots\n", 2, 21, "limits.max_message_size", "size"},
        error_case{"servers:\n  a:\n    command: x\n    command: y\n", 4, 5, "servers.a.command", "duplicate key"},
        error_case{"servers: [1, 2\n", 2, 1, "", "YAML syntax error"},
        error_case{"naming:\n  separator: \".\"\n", 2, 14, "naming.separator", "charset: spec"},
        error_case{"naming:\n  prefix: sometimes\n", 2, 11, "naming.prefix", "when-needed"},
        error_case{"naming:\n  on_collision: coin-flip\n", 2, 17, "naming.on_collision", "first-wins"},
        error_case{"naming:\n  profile: emacs\n", 2, 12, "naming.profile", "claude"},
        error_case{"naming:\n  max_length: 500\n", 2, 15, "naming.max_length", "16 to 128"},
        error_case{"servers:\n  a:\n    command: x\n    tools: {allow: x}\n", 4, 20, "servers.a.tools.allow", "list"},
        error_case{"servers:\n  a:\n    command: x\n    tools: {block: [x]}\n", 4, 13, "servers.a.tools.block", "unknown key"},
        error_case{"servers:\n  a:\n    command: x\n    priority: high\n", 4, 15, "servers.a.priority", "whole number"},
        // Hardening 15: a NUL would cut the path the operating system runs.
        error_case{"servers:\n  a:\n    command: \"/bin/true\\0/evil\"\n", 3, 14, "servers.a.command", "NUL"},
        error_case{"limits:\n  max_in_flight: 0\n", 2, 18, "limits.max_in_flight", "at least 1"},
        error_case{"limits:\n  max_queued: 2KiB\n", 2, 3, "limits.max_queued", "at least max_message_size"},
        // MCP 2026-07-28 upstreams: over stdio or Streamable HTTP, not the legacy SSE or WebSocket.
        error_case{"servers:\n  a:\n    url: ws://x\n    protocol: modern\n", 4, 15, "servers.a.protocol", "Streamable HTTP"},
        error_case{"servers:\n  a:\n    url: http://x\n    transport: sse\n    protocol: auto\n", 5, 15,
                   "servers.a.protocol", "Streamable HTTP"}));

TEST(config_loader, a_2026_upstream_may_be_a_command_or_a_streamable_http_url) {
  const auto cfg = parse_config("servers:\n  a:\n    command: x\n    protocol: modern\n"
                                "  b:\n    url: http://127.0.0.1:1/mcp\n    protocol: auto\n"
                                "  c:\n    url: https://h/mcp\n    transport: http\n    protocol: modern\n",
                                "test.yaml", fake_env({}));
  ASSERT_EQ(cfg.servers.size(), 3U);
  EXPECT_EQ(cfg.servers[1].protocol, server_config::era::automatic);
  EXPECT_EQ(cfg.servers[2].protocol, server_config::era::modern);
}

// Hardening 9: 538 bytes of nested aliases would expand to gigabytes. The document's expanded
// size is measured from the parser's events before anything is built, and refused where it
// passes the bound (a5 is the first anchor over 200,000 nodes: 9^6).
TEST(config_loader, yaml_aliases_that_expand_past_the_bound_are_refused_before_anything_is_built) {
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 10; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) bomb += std::string(j ? ", " : "") + "*a" + std::to_string(i - 1);
    bomb += "]\n";
  }
  bomb += "tools:\n  x__y:\n    arguments:\n      z: {default: *a9}\n";
  try {
    parse_config(bomb, "bomb.yaml", fake_env({}));
    FAIL() << "an alias bomb was accepted";
  } catch (const config_error& e) {
    ASSERT_EQ(e.diagnostics().size(), 1U);
    EXPECT_EQ(e.diagnostics()[0].position.line, 6);
    EXPECT_NE(e.diagnostics()[0].message.find("expand"), std::string::npos) << e.what();
  }
}

// Anchors within the bound are ordinary YAML: a preview and its mutation share their params.
TEST(config_loader, yaml_anchors_within_the_bound_are_read_as_the_values_they_repeat) {
  const std::string yaml = R"(servers:
  a:
    command: /bin/echo
    args: &args [one, two]
  b:
    command: /bin/echo
    args: *args
)";
  const auto cfg = parse_config(yaml, "anchors.yaml", fake_env({}));
  ASSERT_EQ(cfg.servers.size(), 2U);
  EXPECT_EQ(cfg.servers[1].args, (std::vector<std::string>{"one", "two"}));
}

// Found by the config fuzz target: a byte that is not UTF-8 in a string reached `manifold
// import`'s YAML writer, which threw. Refused at load now, with its position.
TEST(config_loader, strings_that_are_not_utf8_are_refused_where_they_are) {
  const std::string yaml = "servers:\n  a:\n    command: /bin/echo\n    args: [\"ok\", \"bad \x97 byte\"]\n";
  try {
    parse_config(yaml, "utf8.yaml", fake_env({}));
    FAIL() << "invalid UTF-8 was accepted";
  } catch (const config_error& e) {
    ASSERT_FALSE(e.diagnostics().empty());
    EXPECT_EQ(e.diagnostics()[0].position.line, 4);
    EXPECT_NE(e.diagnostics()[0].message.find("not valid UTF-8"), std::string::npos) << e.what();
  }
  // Well-formed multi-byte text passes; overlong forms and surrogates do not.
  EXPECT_NO_THROW(parse_config("servers:\n  a:\n    command: /bin/echo\n    args: [\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x99\x82\"]\n",
                               "ok.yaml", fake_env({})));
  EXPECT_THROW(parse_config("servers:\n  a:\n    command: /bin/echo\n    args: [\"\xc0\xaf\"]\n", "o.yaml", fake_env({})),
               config_error);
  EXPECT_THROW(parse_config("servers:\n  a:\n    command: /bin/echo\n    args: [\"\xed\xa0\x80\"]\n", "s.yaml", fake_env({})),
               config_error);
}

// Found by the config fuzz target: six bytes made `manifold check` (and a hot reload) spin
// forever inside the YAML parser. Refused at once now.
TEST(config_loader, a_stray_comma_at_the_top_level_is_refused_not_spun_on) {
  for (const std::string text : {",a", ", 243.", ",\xff" "243."}) {
    EXPECT_THROW(parse_config(text, "stray.yaml", fake_env({})), config_error) << text;
  }
}

TEST(config_loader, naming_profiles_set_defaults_that_keys_override) {
  auto cfg = parse_config("naming:\n  profile: cursor\nservers: {}\n", "c.yaml", fake_env({}));
  EXPECT_EQ(cfg.naming.max_length, 60U);
  EXPECT_EQ(cfg.naming.tool_cap, 40U);
  cfg = parse_config("naming:\n  max_length: 40\n  profile: spec\n", "c.yaml", fake_env({}));
  EXPECT_EQ(cfg.naming.max_length, 40U) << "an explicit key beats the profile, in any order";
  EXPECT_TRUE(cfg.naming.spec_charset);
  cfg = parse_config("servers:\n  a:\n    command: x\n    priority: -3\n    tools: {deny: [\"trigger-*\"]}\n",
                     "c.yaml", fake_env({}));
  EXPECT_EQ(cfg.servers[0].priority, -3);
  EXPECT_EQ(cfg.servers[0].tools.allow, std::vector<std::string>{"*"});
  EXPECT_EQ(cfg.servers[0].tools.deny, std::vector<std::string>{"trigger-*"});
}

TEST(config_loader, reports_every_problem_in_one_pass) {
  const auto errors = errors_of("servers:\n  a:\n    comand: x\n  b:\n    timeout: x\n    command: y\n");
  EXPECT_EQ(errors.size(), 2U);
}

TEST(config_loader, unreadable_file_is_an_error_naming_it) {
  try {
    load_config_file("/nonexistent/x.yaml", fake_env({}));
    FAIL();
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.yaml"), std::string::npos);
  }
}

TEST(host_configs, claude_desktop_and_cursor_mcp_servers) {
  const auto cfg = parse_config(R"({
  "mcpServers": {
    "filesystem": {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-filesystem", "/tmp"]},
    "github.com/acme tools": {"command": "node", "args": ["x.js"], "env": {"TOKEN": "${TOKEN}"}},
    "remote": {"url": "https://mcp.example/mcp", "headers": {"Authorization": "Bearer t"}},
    "off": {"command": "x", "disabled": true, "autoApprove": []}
  }
})", "claude_desktop_config.json", fake_env({{"TOKEN", "t0k"}}));
  ASSERT_EQ(cfg.servers.size(), 3U) << "a disabled server is not started";
  EXPECT_EQ(cfg.servers[0].name, "filesystem");
  EXPECT_EQ(cfg.servers[0].args.at(2), "/tmp");
  EXPECT_EQ(cfg.servers[1].name, "github_com_acme_tools") << "names become valid namespaces";
  EXPECT_EQ(cfg.servers[1].env.at("TOKEN"), "t0k");
  EXPECT_EQ(cfg.servers[2].transport, transport_kind::automatic);
  const auto yaml = to_yaml(cfg);
  EXPECT_NE(yaml.find("  github_com_acme_tools:\n    command: \"node\"\n    args: [\"x.js\"]"), std::string::npos) << yaml;
  // The printed YAML is a manifold config that reads back the same.
  const auto back = parse_config(yaml, "imported.yaml", fake_env({}));
  ASSERT_EQ(back.servers.size(), 3U);
  EXPECT_EQ(back.servers[2].url, "https://mcp.example/mcp");
  EXPECT_EQ(back.servers[2].headers.at("Authorization"), "Bearer t");
}

TEST(host_configs, vscode_servers_with_types) {
  const auto cfg = parse_config(R"({"inputs": [], "servers": {
    "memory": {"type": "stdio", "command": "npx", "args": ["-y", "@modelcontextprotocol/server-memory"]},
    "docs": {"type": "http", "url": "http://127.0.0.1:9/mcp"},
    "old": {"type": "sse", "url": "http://127.0.0.1:9/sse"}}})", "mcp.json", fake_env({}));
  ASSERT_EQ(cfg.servers.size(), 3U);
  EXPECT_EQ(cfg.servers[1].transport, transport_kind::http);
  EXPECT_EQ(cfg.servers[2].transport, transport_kind::sse);
}

TEST(host_configs, problems_are_reported_with_positions) {
  try {
    parse_config("{\"mcpServers\": {\"a\": {\"args\": [\"${input:token}\"]}, \"b\": {\"command\": \"x\", \"colour\": 1}}}",
                 "c.json", fake_env({}));
    FAIL();
  } catch (const config_error& e) {
    ASSERT_EQ(e.diagnostics().size(), 3U) << e.what();
    EXPECT_NE(std::string(e.what()).find("${input:...}"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("c.json:1:"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("unknown key `colour`"), std::string::npos);
  }
}

TEST(units, durations_and_sizes) {
  EXPECT_EQ(parse_duration("250ms"), std::chrono::milliseconds(250));
  EXPECT_EQ(parse_duration("30"), std::chrono::seconds(30));
  EXPECT_EQ(parse_duration("2m"), std::chrono::minutes(2));
  EXPECT_EQ(parse_duration("1h"), std::chrono::hours(1));
  EXPECT_FALSE(parse_duration("1d"));
  EXPECT_FALSE(parse_duration("-1s"));
  EXPECT_FALSE(parse_duration("99999999999999999999h"));
  EXPECT_EQ(parse_size("4MiB"), 4U * 1024U * 1024U);
  EXPECT_EQ(parse_size("512 KiB"), 512U * 1024U);
  EXPECT_EQ(parse_size("100"), 100U);
  EXPECT_EQ(parse_size("1MB"), 1000U * 1000U);
  EXPECT_FALSE(parse_size("4 potatoes"));
}

}  // namespace
}  // namespace manifold::config
