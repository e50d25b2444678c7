#include <CLI/CLI.hpp>
#include <csignal>
#include <iostream>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "commands.hpp"
#include "manifold/access/commands.hpp"
#include "manifold/config/units.hpp"
#include "manifold/version.hpp"

int main(int argc, char** argv) {
  // A host that goes away must not kill manifold through a write to its pipe.
  std::signal(SIGPIPE, SIG_IGN);  // NOLINT(cert-err33-c)

  CLI::App cli{"manifold: one MCP server in front of many"};
  cli.set_version_flag("--version", std::string("manifold ") + manifold::version);
  cli.require_subcommand(1);
  std::string log_level = "info";
  cli.add_option("--log-level", log_level, "trace, debug, info, warn, error, critical or off")
      ->envname("MANIFOLD_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}));

  manifold::app::serve_options serve;
  auto* serve_cmd = cli.add_subcommand("serve", "Serve the merged catalog to one host over stdio, or to many over HTTP");
  serve_cmd->add_option("--listen", serve.listen,
                        "Serve hosts over HTTP on ADDRESS:PORT instead of stdio (port 0: any)");
  serve_cmd->add_option("--port-file", serve.port_file, "Write the bound HTTP port to this file");
  serve_cmd->add_option("--group", serve.group,
                        "stdio: serve only this group (groups: in the config); HTTP serves each "
                        "group at /mcp/<group>");
  serve_cmd->add_option("-c,--config", serve.config_path, "Config file (YAML)")
      ->envname("MANIFOLD_CONFIG")
      ->required();
  serve_cmd->add_option("--initialize-grace", serve.initialize_grace,
                        "Answer a host's initialize after at most this long with the upstreams that are "
                        "ready (overrides lifecycle.initialize_grace; 0: at once)")
      ->envname("MANIFOLD_INITIALIZE_GRACE");
  serve_cmd->add_option("--faults", serve.faults_path,
                        "A YAML file with a `faults:` list, added to the config's (failure drills; "
                        "edit it to start or stop a drill on a running manifold)");

  manifold::app::catalog_options catalog;
  auto* catalog_cmd = cli.add_subcommand(
      "catalog", "Start the upstreams, print every exposed tool with its origin, and exit");
  catalog_cmd->add_option("-c,--config", catalog.config_path, "Config file (YAML)")
      ->envname("MANIFOLD_CONFIG")
      ->required();
  catalog_cmd->add_option("--format", catalog.format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));
  catalog_cmd->add_option("--explain", catalog.explain,
                          "Tell one name's whole story: exposed (how), hidden (by which rule), "
                          "collided, or offered by no upstream");

  manifold::app::catalog_options collisions;
  auto* collisions_cmd = cli.add_subcommand(
      "collisions", "Start the upstreams and explain every exposed name: origin, prefixing, "
                    "mapping, shortening, collisions and filters");
  collisions_cmd->add_option("-c,--config", collisions.config_path, "Config file (YAML)")
      ->envname("MANIFOLD_CONFIG")
      ->required();
  collisions_cmd->add_option("--format", collisions.format, "table or json")
      ->check(CLI::IsMember({"table", "json"}));

  manifold::app::call_options call;
  auto* call_cmd = cli.add_subcommand(
      "call", "Call one tool, through the configured upstreams or a running MCP server, and "
              "print the result as JSON");
  auto* call_config = call_cmd->add_option("-c,--config", call.config_path, "Config file (YAML)")
                          ->envname("MANIFOLD_CONFIG");
  call_cmd->add_option("--url", call.url, "Streamable HTTP (or /sse, ws://) URL of an MCP server")
      ->excludes(call_config);
  call_cmd->add_option("tool", call.tool, "Exposed tool name")->required();
  call_cmd->add_option("--args", call.args, "Arguments as a JSON object");
  call_cmd->add_option("--group", call.group, "Call through this group's part of the catalog")
      ->needs(call_config);
  call_cmd->add_option("--elicitation", call.elicitation,
                       "Answer to the server's elicitation requests: decline or accept-defaults")
      ->check(CLI::IsMember({"decline", "accept-defaults"}));

  manifold::app::diff_options diff;
  auto* diff_cmd = cli.add_subcommand(
      "diff", "Compare the tools of two catalogs (a config, or a saved `catalog --format json`); "
              "exit 1 when they differ");
  diff_cmd->add_option("-c,--config", diff.config_path, "Config file (YAML)")
      ->envname("MANIFOLD_CONFIG")
      ->required();
  diff_cmd->add_option("--against", diff.against, "Another config, or a saved catalog JSON")->required();
  diff_cmd->add_option("--format", diff.format, "table or json")->check(CLI::IsMember({"table", "json"}));

  std::string pin_config;
  std::string pin_lock;
  auto* pin_cmd = cli.add_subcommand(
      "pin", "Write a lock file with a hash of every exposed tool's name, description and schemas");
  pin_cmd->add_option("-c,--config", pin_config, "Config file (YAML)")->envname("MANIFOLD_CONFIG")->required();
  pin_cmd->add_option("--lock", pin_lock, "Lock file (default: pinning.lock, or manifold.lock.json beside the config)");

  manifold::app::status_options status;
  auto* status_cmd = cli.add_subcommand(
      "status", "Show a running manifold's upstreams: state, restarts, breaker, last error and success, "
                "health-probe latency (from its /readyz)");
  status_cmd->add_option("--url", status.url, "The running manifold, such as http://127.0.0.1:8080")->required();
  status_cmd->add_option("--format", status.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  status_cmd->add_option("--header", status.headers, "A request header, `Name: value` (repeatable)");

  manifold::app::drill_options drill;
  std::string drill_duration = "2s";
  std::string drill_recovery = "60s";
  auto* drill_cmd = cli.add_subcommand(
      "drill", "Run a failure drill against a config's upstreams and print what a host saw: errors, "
               "latency, recovery time per upstream");
  drill_cmd->add_option("-c,--config", drill.config_path, "Config file (YAML)")->envname("MANIFOLD_CONFIG")->required();
  drill_cmd->add_option("--scenario", drill.scenario, "crash-each, hang-each, slow or flaky (list: describe them)")
      ->required();
  drill_cmd->add_option("--format", drill.format, "table or json")->check(CLI::IsMember({"table", "json"}));
  drill_cmd->add_option("--call", drill.calls,
                        "SERVER=TOOL: the tool to call on that upstream (default: its first read-only tool)");
  drill_cmd->add_option("--duration", drill_duration, "hang-each: how long a stream stalls; slow: added latency");
  drill_cmd->add_option("--recovery-timeout", drill_recovery, "How long to wait for an upstream to come back");

  std::string import_path;
  auto* import_cmd = cli.add_subcommand(
      "import", "Print a host's MCP config (Claude Desktop, Cursor or VS Code JSON) as manifold YAML");
  import_cmd->add_option("file", import_path, "The host's config file")->required();

  std::string check_path;
  auto* check_cmd = cli.add_subcommand("check", "Validate a config file and exit");
  check_cmd->add_option("-c,--config", check_path, "Config file (YAML)")
      ->envname("MANIFOLD_CONFIG")
      ->required();

  // Identity and access (bodies in access/commands.hpp).
  auto* key_cmd = cli.add_subcommand("key", "API keys for auth.api_keys")->require_subcommand(1);
  auto* key_hash_cmd = key_cmd->add_subcommand("hash", "Read a key on stdin and print its hash line");
  auto* key_new_cmd = key_cmd->add_subcommand("new", "Print a new random key and its hash line");
  std::string audit_path;
  auto* audit_cmd = cli.add_subcommand("audit", "The audit stream")->require_subcommand(1);
  audit_cmd->add_subcommand("verify", "Check an audit file's hash chain; exit 1 naming the first bad line")
      ->add_option("file", audit_path, "Audit file (JSONL)")->required();
  std::string explain_config;
  manifold::access::explain_request explain;
  auto* explain_cmd = cli.add_subcommand("explain", "Whether a principal with roles may see and call a tool, and why");
  explain_cmd->add_option("-c,--config", explain_config, "Config file (YAML)")->envname("MANIFOLD_CONFIG")->required();
  explain_cmd->add_option("--principal", explain.principal, "Principal (its configured roles are added)");
  explain_cmd->add_option("--role", explain.roles, "A role (repeatable)");
  explain_cmd->add_option("--args", explain.arguments, "Call arguments as a JSON object");
  explain_cmd->add_option("tool", explain.tool, "Exposed tool name")->required();

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = cli.exit(e);
    return code == 0 ? 0 : manifold::app::exit_bad_config;
  }

  // Logs go to stderr only: stdout belongs to the protocol.
  auto logger = spdlog::stderr_color_mt("manifold");
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  spdlog::set_default_logger(logger);
  spdlog::set_level(spdlog::level::from_str(log_level));

  if (*key_hash_cmd) return manifold::access::run_key_hash(std::cin, std::cout, std::cerr);
  if (*key_new_cmd) return manifold::access::run_key_new(std::cout);
  if (*audit_cmd) return manifold::access::run_audit_verify(audit_path, std::cout, std::cerr);
  if (*explain_cmd) return manifold::access::run_explain(explain_config, explain, std::cout, std::cerr);
  if (*serve_cmd) return manifold::app::run_serve(serve);
  if (*status_cmd) return manifold::app::run_status(status);
  if (*drill_cmd) {
    const auto duration = manifold::config::parse_duration(drill_duration);
    const auto recovery = manifold::config::parse_duration(drill_recovery);
    if (!duration || !recovery || duration->count() <= 0 || recovery->count() <= 0) {
      std::cerr << "--duration and --recovery-timeout are durations such as 500ms or 2s\n";
      return manifold::app::exit_bad_config;
    }
    drill.duration = *duration;
    drill.recovery_timeout = *recovery;
    return manifold::app::run_drill(drill);
  }
  if (*catalog_cmd) return manifold::app::run_catalog(catalog);
  if (*collisions_cmd) return manifold::app::run_collisions(collisions);
  if (*check_cmd) return manifold::app::run_check(check_path);
  if (*import_cmd) return manifold::app::run_import(import_path);
  if (*diff_cmd) return manifold::app::run_diff(diff);
  if (*pin_cmd) return manifold::app::run_pin(pin_config, pin_lock);
  if (*call_cmd) {
    if (call.config_path.empty() == call.url.empty()) {
      std::cerr << "call needs --config FILE or --url URL\n";
      return manifold::app::exit_bad_config;
    }
    return manifold::app::run_call(call);
  }
  return manifold::app::exit_bad_config;
}
