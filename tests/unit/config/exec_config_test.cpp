// `exec:` servers and `include:` packs in the config loader.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "manifold/config/config_error.hpp"
#include "manifold/config/config_loader.hpp"
#include "manifold/config/version_range.hpp"

namespace manifold::config {
namespace {

std::optional<std::string> no_env(const std::string&) { return std::nullopt; }

std::vector<std::string> errors_of(const std::string& text, const std::string& file = "test.yaml") {
  try {
    parse_config(text, file, no_env);
  } catch (const config_error& e) {
    std::vector<std::string> out;
    for (const auto& d : e.diagnostics()) out.push_back(d.to_string());
    return out;
  }
  return {};
}

bool mentions(const std::vector<std::string>& errors, const std::string& what) {
  for (const auto& e : errors) {
    if (e.find(what) != std::string::npos) return true;
  }
  return false;
}

TEST(exec_config, reads_a_declared_tool_with_server_defaults) {
  const auto cfg = parse_config(R"(
servers:
  k8s:
    exec:
      binary: /usr/bin/true
      env: {allow: [HOME], set: {KUBECONFIG: /etc/kube}}
      version: {args: [version], range: ">=1.20 <2"}
      deny_flags: [--raw]
      tools:
        pods_list:
          title: List pods
          description: Pods in a namespace.
          argv: [get, pods, "--namespace={{namespace}}", "--selector={{selector}}?", {when: wide, args: [-o, wide]}]
          params:
            namespace: {type: string, pattern: '^[a-z0-9-]+$', maxLength: 63, required: true}
            selector: {type: string, maxLength: 256}
            wide: {type: boolean, default: false}
          env: {set: {EXTRA: "1"}}
          timeout: 20s
          output: {format: json, max_bytes: 64KiB, keep: tail}
          exit_codes: {"1": {ok: true, note: differences}, "4": error}
          annotations: {readOnlyHint: true, openWorldHint: true}
          sensitive: true
          untrusted_output: true
          check: [auth, can-i, list, pods]
        pods_logs:
          argv: [logs, "{{pod}}"]
          params:
            pod: {type: string, maxLength: 253, required: true}
          stream: {max_duration: 3m, lines_per_second: 5}
)",
                                "c.yaml", no_env);
  ASSERT_EQ(cfg.servers.size(), 1U);
  const auto& s = cfg.servers[0];
  ASSERT_TRUE(s.exec.has_value());
  EXPECT_TRUE(s.command.empty());
  const auto& t = s.exec->tools.at(0);
  EXPECT_EQ(t.name, "pods_list");
  EXPECT_EQ(t.binary, "/usr/bin/true");
  EXPECT_EQ(t.argv.size(), 6U);
  EXPECT_EQ(t.argv[3].when, "selector");
  EXPECT_EQ(t.argv[3].text, "--selector={{selector}}");
  EXPECT_EQ(t.argv[4].when, "wide");
  EXPECT_EQ(t.params.at(0).required, true);
  EXPECT_FALSE(t.params.at(0).schema.contains("required"));
  EXPECT_EQ(t.env.allow, std::vector<std::string>{"HOME"});
  EXPECT_EQ(t.env.set.at("KUBECONFIG"), "/etc/kube");
  EXPECT_EQ(t.env.set.at("EXTRA"), "1");
  EXPECT_EQ(t.env.set.at("PATH"), "/usr/bin:/bin");
  EXPECT_EQ(t.timeout, std::chrono::seconds(20));
  EXPECT_EQ(t.output.max_bytes, 64U * 1024U);
  EXPECT_EQ(t.output.keep, keep_part::tail);
  ASSERT_EQ(t.exit_codes.size(), 2U);
  EXPECT_TRUE(t.exit_codes[0].ok);
  EXPECT_FALSE(t.exit_codes[1].ok);
  EXPECT_EQ(t.annotations["readOnlyHint"], true);
  EXPECT_TRUE(t.sensitive && t.untrusted_output);
  ASSERT_TRUE(t.check.has_value());
  EXPECT_EQ(t.check->args.size(), 4U);
  const auto& logs = s.exec->tools.at(1);
  EXPECT_TRUE(logs.stream.enabled);
  EXPECT_EQ(logs.output.keep, keep_part::tail);  // a stream keeps its tail
  EXPECT_EQ(logs.stream.max_duration, std::chrono::minutes(3));
  // No timeout set: long enough for the longest run.
  EXPECT_EQ(s.timeout, std::chrono::minutes(3) + std::chrono::seconds(2) + std::chrono::seconds(5));
}

TEST(exec_config, refuses_unsafe_or_unbounded_declarations_with_positions) {
  const auto errors = errors_of(R"(
servers:
  k8s:
    exec:
      binary: /usr/bin/true
      tools:
        a:
          argv: ["{{missing}}", "{{bad name}}"]
        b:
          binary: relative/kubectl
          argv: [x]
        c:
          argv: ["{{free}}"]
          params:
            free: {type: string}
            list: {type: array, items: {type: string, maxLength: 3}}
            weird: {type: string, maxLength: 3, format: email}
            rx: {type: string, maxLength: 3, pattern: '([a-z'}
            d: {type: integer, maximum: 3, default: 10}
        e:
          preview: nothing
          argv: [x]
        f:
          argv: [x]
          verbose: true
)");
  EXPECT_TRUE(mentions(errors, "test.yaml:7:9: servers.k8s.exec.tools.a.argv:"));
  EXPECT_TRUE(mentions(errors, "names no declared parameter"));
  EXPECT_TRUE(mentions(errors, "is not a parameter slot"));
  EXPECT_TRUE(mentions(errors, "binary must be an absolute path"));
  EXPECT_TRUE(mentions(errors, "needs maxLength or enum"));
  EXPECT_TRUE(mentions(errors, "needs maxItems"));
  EXPECT_TRUE(mentions(errors, "`format` is not a keyword"));
  EXPECT_TRUE(mentions(errors, "not a valid (ECMAScript) regular expression"));
  EXPECT_TRUE(mentions(errors, "default does not satisfy"));
  EXPECT_TRUE(mentions(errors, "preview names another tool"));
  EXPECT_TRUE(mentions(errors, "unknown key `verbose`"));
}

TEST(exec_config, exactly_one_of_command_url_exec_and_a_checked_binary) {
  EXPECT_TRUE(mentions(
      errors_of(
          "servers:\n  x:\n    command: node\n    exec: {binary: /usr/bin/true, tools: {}}\n"),
      "not both"));
  EXPECT_TRUE(mentions(errors_of("servers:\n  x:\n    exec:\n      tools:\n        t: {argv: [x], "
                                 "binary: /nonexistent/kubectl}\n"),
                       "/nonexistent/kubectl does not exist"));
  EXPECT_TRUE(mentions(errors_of("servers:\n  x:\n    exec:\n      tools:\n        t: {argv: [x], "
                                 "binary: /usr/bin/true, sha256: abc}\n"),
                       "does not have the declared sha256"));
  EXPECT_TRUE(mentions(errors_of("servers:\n  x:\n    exec:\n      binary: /usr/bin/true\n      "
                                 "version: {range: \"=>1\"}\n      tools: {}\n"),
                       "version range"));
}

TEST(exec_config, preview_tools_declare_the_same_parameters) {
  const auto errors = errors_of(R"(
servers:
  k:
    exec:
      binary: /usr/bin/true
      tools:
        scale_preview:
          argv: [scale, "{{name}}"]
          params: {name: {type: string, maxLength: 10}}
        scale:
          argv: [scale, "{{name}}", "--replicas={{n}}"]
          params:
            name: {type: string, maxLength: 10}
            n: {type: integer, maximum: 5}
          preview: scale_preview
)");
  EXPECT_TRUE(mentions(
      errors, "parameter `n` must be declared identically on preview tool `scale_preview`"));
}

struct pack_dir {
  std::filesystem::path dir;
  pack_dir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "manifold-pack-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
    std::filesystem::create_directories(dir / "packs");
  }
  ~pack_dir() { std::filesystem::remove_all(dir); }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(dir / name) << text;
  }
  [[nodiscard]] std::string path(const std::string& name) const { return (dir / name).string(); }
};

const char* const pack = R"(description: a test pack
vars:
  namespaces: {default: "default", description: regex of namespaces}
  kubeconfig: {required: true}
  endpoint: ""
servers:
  k8s:
    exec:
      binary: /usr/bin/true
      env: {set: {KUBECONFIG: "${var:kubeconfig}"}}
      tools:
        pods:
          argv: [get, pods, "--namespace={{namespace}}", {if: "${var:endpoint}", args: ["--server=${var:endpoint}"]}]
          params:
            namespace: {type: string, pattern: '^(${var:namespaces})$', maxLength: 63, required: true}
)";

TEST(exec_config, includes_packs_relative_to_the_config_with_variables) {
  pack_dir d;
  d.write("packs/k8s.yaml", pack);
  d.write("main.yaml", R"(include:
  - {file: packs/k8s.yaml, vars: {namespaces: "dev-.*|staging", kubeconfig: /etc/kc}}
servers:
  other: {command: node}
)");
  const auto cfg = load_config_file(d.path("main.yaml"), no_env);
  ASSERT_EQ(cfg.servers.size(), 2U);
  const auto& k8s = cfg.servers[0].name == "k8s" ? cfg.servers[0] : cfg.servers[1];
  const auto& tool = k8s.exec->tools.at(0);
  EXPECT_EQ(tool.params.at(0).schema["pattern"], "^(dev-.*|staging)$");
  EXPECT_EQ(tool.env.set.at("KUBECONFIG"), "/etc/kc");
  EXPECT_EQ(tool.argv.size(), 3U);  // the `if` element is dropped: no endpoint
  EXPECT_EQ(k8s.position.file, d.path("packs/k8s.yaml"));
  EXPECT_EQ(cfg.included, std::vector<std::string>{d.path("packs/k8s.yaml")});
}

TEST(exec_config, pack_errors_name_the_right_file) {
  pack_dir d;
  d.write("packs/k8s.yaml", pack);
  d.write("packs/broken.yaml",
          "servers:\n  b:\n    exec:\n      binary: /usr/bin/true\n      tools:\n        t: {argv: "
          "[x], bogus: 1}\n");
  // A pack is metered like a config: aliases that expand past the bound are refused.
  std::string bomb = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n";
  for (int i = 1; i < 8; ++i) {
    bomb += "a" + std::to_string(i) + ": &a" + std::to_string(i) + " [";
    for (int j = 0; j < 9; ++j) bomb += std::string(j ? ", " : "") + "*a" + std::to_string(i - 1);
    bomb += "]\n";
  }
  d.write("packs/bomb.yaml", bomb);
  d.write("main.yaml",
          "include:\n  - packs/k8s.yaml\n  - {file: packs/k8s.yaml, vars: {kubeconfig: x, nope: "
          "y}}\n  - packs/broken.yaml\n  - packs/missing.yaml\n  - packs/bomb.yaml\n");
  try {
    load_config_file(d.path("main.yaml"), no_env);
    FAIL() << "expected errors";
  } catch (const config_error& e) {
    std::vector<std::string> errors;
    for (const auto& diag : e.diagnostics()) errors.push_back(diag.to_string());
    EXPECT_TRUE(mentions(errors, d.path("main.yaml") + ":2:5: include[0]: pack " +
                                     d.path("packs/k8s.yaml") +
                                     " needs the variable `kubeconfig`"));
    EXPECT_TRUE(mentions(errors, "declares no variable `nope`"));
    EXPECT_TRUE(mentions(errors, d.path("packs/broken.yaml") + ":6:"));
    EXPECT_TRUE(mentions(errors, "cannot open pack file"));
    EXPECT_TRUE(mentions(errors, d.path("packs/bomb.yaml") + ":6:"));
  }
  d.write("twice.yaml",
          "include:\n  - {file: packs/k8s.yaml, vars: {kubeconfig: a}}\n  - {file: packs/k8s.yaml, "
          "vars: {kubeconfig: b}}\n");
  try {
    load_config_file(d.path("twice.yaml"), no_env);
    FAIL() << "expected a duplicate";
  } catch (const config_error& e) {
    EXPECT_NE(std::string(e.what()).find("duplicate server name (also declared at " +
                                         d.path("packs/k8s.yaml") + ":7:3)"),
              std::string::npos)
        << e.what();
  }
  EXPECT_TRUE(mentions(errors_of("servers:\n  x:\n    exec:\n      binary: /usr/bin/true\n      "
                                 "tools:\n        t: {argv: [\"${var:x}\"]}\n"),
                       "pack variable `x` is not declared"));
}

TEST(version_range, compares_dotted_versions) {
  EXPECT_EQ(parse_version("v1.32.4-dispatcher"), (std::vector<long>{1, 32, 4}));
  EXPECT_EQ(parse_version("2.9.19"), (std::vector<long>{2, 9, 19}));
  EXPECT_FALSE(parse_version("abc").has_value());
  EXPECT_TRUE(satisfies({1, 32, 4}, ">=1.25 <2"));
  EXPECT_FALSE(satisfies({1, 20, 2}, ">=1.25 <2"));
  EXPECT_FALSE(satisfies({2, 0}, ">=1.25 <2"));
  EXPECT_TRUE(satisfies({3, 5, 0}, "3.5"));
  EXPECT_FALSE(range_error(">=1 <=2.5").size() > 0);
  EXPECT_TRUE(range_error("=>1").size() > 0);
  EXPECT_TRUE(range_error("").size() > 0);
}

}  // namespace
}  // namespace manifold::config
