#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "manifold/config/exec_config.hpp"
#include "manifold/config/source_position.hpp"

// manifold's configuration as plain values. Parsed once, strictly, by config_loader; nothing
// outside config/ sees YAML. Defaults live here, in the member initialisers.
namespace manifold::config {

enum class prefix_mode { always, when_needed, never };
enum class collision_rule { first_wins, priority, error };

struct naming_config {
  std::string separator = "__";
  prefix_mode prefix = prefix_mode::always;  // never: names and URIs pass unchanged
  std::string profile;         // claude | cursor | vscode | spec: defaults for the three below
  bool spec_charset = false;   // [A-Za-z0-9_.-] instead of [A-Za-z0-9_-]
  std::size_t max_length = 64;
  std::size_t tool_cap = 0;    // warn when more tools are exposed (0: no cap)
  bool meta_tools = false;     // over the cap, offer search_tools/describe_tool/call_tool instead
  collision_rule on_collision = collision_rule::first_wins;
};

// Globs over one kind of an upstream's entries (original names, or URIs for resources).
struct entry_filter_config {
  std::vector<std::string> allow{"*"};
  std::vector<std::string> deny;
};

struct limits_config {
  std::size_t max_message_bytes = 4 * 1024 * 1024;
  std::size_t page_size = 0;  // items per page of manifold's lists; 0: everything in one page
};

// The host-facing HTTP listener (`manifold serve --listen` overrides `listen`).
struct http_config {
  std::string listen;  // "127.0.0.1:8080"; empty: serve stdio
  std::vector<std::string> allowed_origins;
  std::vector<std::string> allowed_hosts;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_sessions = 1000;
  std::chrono::milliseconds session_idle_timeout{std::chrono::minutes(30)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  std::size_t replay_events = 256;
};

enum class transport_kind { stdio, http, sse, websocket, automatic };

// `servers.<name>.oauth`: how manifold authorizes itself to an HTTP upstream that answers
// 401 with a Bearer challenge (MCP authorization, OAuth 2.1 with PKCE). Every field is
// optional: with none, manifold discovers the authorization server and registers itself
// dynamically. The client identity is tried in the specification's order: `client_id`
// (pre-registered), `client_metadata_url` (when the server supports client ID metadata
// documents), dynamic registration.
struct oauth_config {
  bool enabled = true;              // `oauth: false`: never authorize, a 401 is an error
  std::string client_id;            // pre-registered client
  std::string client_secret;        // its secret (client_secret_basic or _post)
  std::string client_metadata_url;  // https URL of this client's metadata document
  std::string client_name = "manifold";  // for dynamic registration
  // Where the authorization server sends the browser back. A loopback http URL (port 0 picks
  // one) that manifold listens on while a person authorizes; an authorization server that
  // redirects at once (no login page) never needs the listener.
  std::string redirect_uri = "http://127.0.0.1:0/callback";
  std::chrono::milliseconds authorize_timeout{std::chrono::minutes(5)};  // waiting for a person

  bool operator==(const oauth_config&) const = default;
};

struct server_config {
  std::string name;        // the key under `servers:`
  std::string namespace_;  // exposed namespace; defaults to `name`
  // stdio upstream: an exact argv, never run through a shell.
  std::string command;
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to manifold's own environment
  std::string cwd;
  // network upstream.
  std::string url;
  transport_kind transport = transport_kind::stdio;
  std::map<std::string, std::string> headers;
  oauth_config oauth;

  int priority = 0;  // for naming.on_collision: priority
  entry_filter_config tools;
  entry_filter_config prompts;
  entry_filter_config resources;

  // shared: one instance serves every host session; session: each host session gets its own
  // instance (exact routing of the server's own requests, no state shared between hosts).
  bool isolated = false;

  std::chrono::milliseconds timeout{std::chrono::seconds(60)};          // per request
  std::chrono::milliseconds startup_timeout{std::chrono::seconds(30)};  // start + initialize
  // `exec:` served by manifold itself (exec_config.hpp); exactly one of command, url, exec.
  std::optional<exec_config> exec;
  source_position position;
};

// `tools.<exposed name>`: what the host sees of one tool, and the arguments it may pass.
// Each argument constraint is a JSON Schema fragment (enum, const, pattern, minimum,
// maximum, maxLength, default) that narrows the published schema and is enforced on every
// call; `hidden: true` with `value:` removes the argument from the schema and always sends
// that value.
struct tool_override {
  std::string exposed;  // the name it overrides (after prefixing)
  std::string name;     // rename; empty: keep
  std::string title;
  std::string description;
  nlohmann::json annotations;  // merged over the upstream's; null: keep
  std::map<std::string, nlohmann::json> arguments;
  source_position position;
};

// `groups.<name>`: a virtual server showing the exposed names its globs admit.
struct group_config {
  std::string name;
  std::vector<std::string> include{"*"};
  std::vector<std::string> exclude;
};

// `pinning:` a lock file of tool definitions (written by `manifold pin`); a pinned tool
// whose name, description or schemas change is hidden (or only logged, on_change: warn).
struct pinning_config {
  std::string lock;  // path, relative to the config file; empty: pinning off
  bool hide = true;
};

struct config {
  std::string source;  // the file it was read from
  std::vector<std::string> included;  // pack files read through `include:` (watch them too)
  naming_config naming;
  limits_config limits;
  http_config http;
  std::vector<server_config> servers;
  std::vector<tool_override> tools;
  std::vector<group_config> groups;
  pinning_config pinning;  // in file order; that order breaks ties
};

}  // namespace manifold::config
