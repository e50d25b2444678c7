#pragma once

#include <chrono>
#include <cstddef>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "manifold/config/source_position.hpp"

// `servers.<name>.exec`: a server that manifold serves itself, whose tools are declared here
// (docs/exec.md). Plain values, checked once by the loader: binaries exist and are
// executable, templates name only declared parameters, schemas use only the keywords that
// manifold enforces. Server-level defaults (binary, env, cwd, profile) are already merged
// into each tool.
namespace manifold::config {

// One declared parameter: a JSON Schema fragment (type, description, enum, const, pattern,
// minimum, maximum, minLength, maxLength, default, items, minItems, maxItems) published
// as-is under the tool's inputSchema.properties. Every string has maxLength or enum, every
// array maxItems, so every value is bounded.
struct exec_param {
  std::string name;
  nlohmann::json schema = nlohmann::json::object();
  bool required = false;
  bool operator==(const exec_param&) const = default;
};

// One argv template element: text with `{{param}}` slots (argv_template.hpp). Emitted
// always, or, when `when` names a parameter, only while that parameter is present (a
// boolean: only while true).
struct argv_element {
  std::string text;
  std::string when;
  bool operator==(const argv_element&) const = default;
};

// What an exit code (CLI) or HTTP status (REST) means: success with a note (kubectl diff
// exits 1 when it found differences) or failure with one (gh exits 4 without auth).
struct exit_rule {
  int code = 0;
  bool ok = true;
  std::string note;
  bool operator==(const exit_rule&) const = default;
};

enum class output_format { text, json };
enum class keep_part { head, tail };

struct exec_output {
  output_format format = output_format::text;
  std::size_t max_bytes = 256 * 1024;        // of stdout (CLI), response body (REST), rows (SQL)
  keep_part keep = keep_part::head;          // which end survives the cut
  std::size_t max_stderr_bytes = 16 * 1024;  // its tail, shown when the run failed
  bool operator==(const exec_output&) const = default;
};

// `stream:` each stdout line goes to the host as notifications/progress while the process
// runs (only when the call carried a progressToken), at most `lines_per_second`; the
// process is stopped at `max_duration` and the capped tail is the result.
struct exec_stream {
  bool enabled = false;
  std::chrono::milliseconds max_duration{std::chrono::minutes(2)};
  unsigned lines_per_second = 20;
  std::size_t max_line_bytes = 2048;
  bool operator==(const exec_stream&) const = default;
};

// The child's whole environment: the `allow`ed names copied from manifold's own (when set)
// plus the fixed `set` values. Nothing else; PATH is /usr/bin:/bin unless set.
struct exec_env {
  std::vector<std::string> allow;
  std::map<std::string, std::string> set;
  bool operator==(const exec_env&) const = default;
};

// A start-up probe: the binary run with fixed `args` (no parameters). A tool whose check
// exits outside `ok_exits` is hidden, with the reason.
struct exec_check {
  std::vector<std::string> args;
  std::vector<int> ok_exits{0};
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  bool operator==(const exec_check&) const = default;
};

// `version:` the binary's version, read by `pattern`'s first capture group from the output
// of `args`, must satisfy `range` (version_range.hpp) or every tool of the server is hidden.
struct exec_version {
  std::vector<std::string> args;
  std::string pattern;
  std::string range;
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};
  bool operator==(const exec_version&) const = default;
};

enum class exec_kind { cli, http, sql };

// A secret header value read at call time (so a rotated token is picked up): `prefix` +
// the value of environment variable `env`, or the trimmed contents of `file`.
struct http_credential {
  std::string header;
  std::string prefix;
  std::string env;
  std::string file;
  bool operator==(const http_credential&) const = default;
};

// `exec.http`: the REST API that the server's `http:` tools call.
struct http_server_spec {
  std::string base_url;  // scheme://host[:port][/path prefix]; never from a parameter
  std::map<std::string, std::string> headers;
  std::vector<http_credential> credentials;
  std::string ca_file;  // extra trust anchor for https
  bool operator==(const http_server_spec&) const = default;
};

// A tool's `http:` request. `path` slots fill whole or partial path segments (a value can
// never add a segment or a query); `query` entries whose slot parameter is absent are left
// out; `body` is a JSON template whose strings "{{p}}" become p's typed value; the response
// JSON is projected to `project` (field -> JSON pointer); `status` maps codes.
struct http_tool_spec {
  std::string method = "GET";
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  std::map<std::string, std::string> headers;
  nlohmann::json body;
  std::vector<std::pair<std::string, std::string>> project;
  std::vector<exit_rule> status;
  bool operator==(const http_tool_spec&) const = default;
};

// `exec.sql`: the database. PostgreSQL: a libpq conninfo from `dsn` or, read at call time,
// the environment variable `dsn_env` or the file `dsn_file`; SQLite: the file `path`.
struct sql_server_spec {
  std::string driver;  // postgres | sqlite
  std::string dsn;
  std::string dsn_env;
  std::string dsn_file;
  std::string path;
  bool operator==(const sql_server_spec&) const = default;
};

// A tool's `sql:` named query. Parameters are bound ($1.. / ?1..) in `bind` order, never
// spliced into the text; read-only transaction unless `mutating`.
struct sql_tool_spec {
  std::string query;
  std::vector<std::string> bind;
  bool mutating = false;
  std::size_t max_rows = 100;
  bool operator==(const sql_tool_spec&) const = default;
};

struct exec_tool {
  std::string name;
  std::string title;
  std::string description;
  exec_kind kind = exec_kind::cli;
  // cli
  std::string binary;   // absolute; checked at load
  std::string sha256;   // lowercase hex, optional; checked at load and at server start
  std::string profile;  // deny-list profile: kubectl, helm, aws, gh, argocd or none
  std::vector<argv_element> argv;
  std::string stdin_param;  // this parameter's value (objects as JSON) is the child's stdin
  std::vector<exec_param> params;
  exec_env env;
  std::string cwd = "/";
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds kill_grace{std::chrono::seconds(2)};  // SIGTERM -> SIGKILL
  exec_output output;
  std::vector<exit_rule> exit_codes;
  nlohmann::json annotations = nlohmann::json::object();
  bool sensitive = false;
  bool untrusted_output = false;
  std::string preview;  // the tool whose successful run issues this tool's plan_id
  std::chrono::milliseconds plan_ttl{std::chrono::minutes(10)};
  exec_stream stream;
  std::optional<exec_check> check;
  http_tool_spec http;
  sql_tool_spec sql;
  source_position position;
  bool operator==(const exec_tool&) const = default;
};

struct exec_config {
  std::optional<exec_version> version;  // checked against the server's `binary`
  std::string binary;
  std::vector<std::string> deny_flags;   // added to the tools' profile deny-lists
  std::vector<std::string> allow_flags;  // profile flags that template literals may use
  std::size_t max_concurrent = 4;        // tool runs in flight; more are refused
  http_server_spec http;
  sql_server_spec sql;
  std::vector<exec_tool> tools;
  bool operator==(const exec_config&) const = default;
};

// The longest a call of any tool may take, plus a margin: the request timeout an exec
// server gets when its config sets none.
std::chrono::milliseconds longest_run(const exec_config& exec);

}  // namespace manifold::config
