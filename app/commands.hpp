#pragma once

#include <chrono>
#include <string>
#include <vector>

namespace manifold::app {

// Exit codes shared by every subcommand.
inline constexpr int exit_ok = 0;
inline constexpr int exit_failure = 1;     // ran, but something it checked failed
inline constexpr int exit_bad_config = 2;  // the config (or the command line) is invalid

struct serve_options {
  std::string config_path;
  std::string listen;     // ADDRESS:PORT: serve HTTP instead of stdio (overrides http.listen)
  std::string port_file;  // written with the bound port once listening
  std::string group;      // stdio: serve only this group's part of the catalog
  std::string faults_path;  // --faults FILE: failure drills added to the config's `faults:`
  std::string initialize_grace;  // overrides lifecycle.initialize_grace (a duration)
};

struct catalog_options {
  std::string config_path;
  std::string format = "table";  // table | json
  std::string explain;           // one name's whole story instead of the list
};

struct call_options {
  std::string config_path;  // start the configured upstreams and call through the catalog
  std::string url;          // or call an MCP server (a running manifold) at this URL
  std::string tool;
  std::string args = "{}";  // JSON object
  std::string group;        // call through this group's view (--config only)
  // How to answer an upstream's elicitation/create, with no person to ask:
  // decline, or accept-defaults (accept, each field at its schema default).
  std::string elicitation = "decline";
};

int run_serve(const serve_options& options);
int run_call(const call_options& options);
int run_catalog(const catalog_options& options);
int run_check(const std::string& config_path);
struct diff_options {
  std::string config_path;  // the catalog now
  std::string against;      // another config, or a saved `catalog --format json`
  std::string format = "table";
};
// Compares two catalogs' tools: added, removed, renamed, changed. Exit 1 when they differ.
int run_diff(const diff_options& options);

// Writes the pinning lock file of the catalog as it is now.
int run_pin(const std::string& config_path, const std::string& lock_path);

// Prints a host's config (Claude Desktop / Cursor mcpServers, VS Code servers) as manifold YAML.
int run_import(const std::string& path);
// Every exposed name with its origin and every naming and policy decision taken.
int run_collisions(const catalog_options& options);

struct status_options {
  std::string url;                   // a running manifold: http://HOST:PORT (its /readyz is read)
  std::string format = "table";      // table | json
  std::vector<std::string> headers;  // "Name: value", e.g. an Authorization header
};
// Each upstream's state, restarts, breaker, last error and success, probe latency.
// Exit 0 when manifold is ready, 1 when it answered but is not, 2 when it cannot be read.
int run_status(const status_options& options);

struct drill_options {
  std::string config_path;
  std::string scenario;            // crash-each | hang-each | slow | flaky (list: print them)
  std::string format = "table";    // table | json
  std::vector<std::string> calls;  // SERVER=TOOL: the tool a drill calls on that upstream
  std::chrono::milliseconds duration{std::chrono::seconds(2)};  // hang-each stall, slow delay
  std::chrono::milliseconds recovery_timeout{std::chrono::seconds(60)};
};
// Runs a scripted failure drill against the config's upstreams (in this process, through a
// host session of its own) and prints what the host saw: errors, latency, recovery time.
int run_drill(const drill_options& options);

}  // namespace manifold::app
