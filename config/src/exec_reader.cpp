// `servers.<name>.exec`: the structure of an exec server's YAML. Semantic checks (binaries,
// schemas, templates, cross references) are in exec_checks.cpp.
#include "exec_reader.hpp"

#include <algorithm>

namespace manifold::config::detail {

namespace {

using std::chrono::milliseconds;

void read_env(yaml_context& ctx, const YAML::Node& node, const std::string& path, exec_env& out) {
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(node, path, {"allow", "set"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "allow") {
                       for (auto& name : ctx.string_list(value, child))
                         out.allow.push_back(std::move(name));
                     } else {
                       for (auto& [name, v] : ctx.string_map(value, child))
                         out.set[name] = std::move(v);
                     }
                   });
}

// `"1": ok`, `"1": error`, or `"1": {ok: true, note: "differences found"}`.
void read_exit_rules(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                     int maximum, std::vector<exit_rule>& out) {
  if (!ctx.expect_map(node, path)) return;
  for (const auto& entry : node) {
    const auto child = yaml_context::join(path, entry.first.Scalar());
    const auto code = ctx.int_value(entry.first, child, 0, maximum);
    if (!code) continue;
    exit_rule rule;
    rule.code = static_cast<int>(*code);
    if (entry.second.IsScalar()) {
      const auto v = ctx.string_value(entry.second, child);
      if (v && (*v == "ok" || *v == "error")) {
        rule.ok = *v == "ok";
      } else if (v) {
        ctx.fail(entry.second, child, "expected ok, error or {ok: BOOL, note: TEXT}");
      }
    } else if (ctx.expect_map(entry.second, child)) {
      ctx.for_each_key(
          entry.second, child, {"ok", "note"},
          [&](const std::string& k, const YAML::Node& value, const std::string& field) {
            if (k == "ok") {
              if (auto b = ctx.bool_value(value, field)) rule.ok = *b;
            } else if (auto v = ctx.string_value(value, field)) {
              rule.note = std::move(*v);
            }
          });
    }
    out.push_back(std::move(rule));
  }
}

void read_output(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                 exec_output& out) {
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(node, path, {"format", "max_bytes", "keep", "max_stderr_bytes"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "max_bytes" || k == "max_stderr_bytes") {
                       auto n = ctx.size_value(value, child);
                       if (n && *n > 64 * 1024 * 1024) {
                         ctx.fail(value, child, "at most 64MiB");
                       } else if (n) {
                         (k == "max_bytes" ? out.max_bytes : out.max_stderr_bytes) = *n;
                       }
                       return;
                     }
                     const auto v = ctx.string_value(value, child);
                     if (!v) return;
                     if (k == "format") {
                       if (*v != "text" && *v != "json")
                         ctx.fail(value, child, "format must be text or json");
                       out.format = *v == "json" ? output_format::json : output_format::text;
                     } else {
                       if (*v != "head" && *v != "tail")
                         ctx.fail(value, child, "keep must be head or tail");
                       out.keep = *v == "tail" ? keep_part::tail : keep_part::head;
                     }
                   });
}

void read_stream(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                 exec_stream& out) {
  if (node.IsScalar()) {
    if (auto b = ctx.bool_value(node, path)) out.enabled = *b;
    return;
  }
  if (!ctx.expect_map(node, path)) return;
  out.enabled = true;
  ctx.for_each_key(node, path, {"max_duration", "lines_per_second", "max_line_bytes"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "max_duration") {
                       if (auto d = ctx.duration_value(value, child)) out.max_duration = *d;
                     } else if (k == "lines_per_second") {
                       if (auto n = ctx.int_value(value, child, 1, 1000))
                         out.lines_per_second = static_cast<unsigned>(*n);
                     } else if (auto n = ctx.int_value(value, child, 16, 65536)) {
                       out.max_line_bytes = static_cast<std::size_t>(*n);
                     }
                   });
}

std::vector<int> read_exit_list(yaml_context& ctx, const YAML::Node& node,
                                const std::string& path) {
  std::vector<int> out;
  if (!node.IsSequence()) {
    ctx.fail(node, path, "expected a list of exit codes");
    return out;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    if (auto n = ctx.int_value(node[i], path + "[" + std::to_string(i) + "]", 0, 255)) {
      out.push_back(static_cast<int>(*n));
    }
  }
  return out;
}

// `check: [auth, can-i, list, pods]` or `check: {args: [...], ok_exits: [0], timeout: 5s}`.
void read_check(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                std::optional<exec_check>& out) {
  exec_check check;
  if (node.IsSequence()) {
    check.args = ctx.string_list(node, path);
    out = std::move(check);
    return;
  }
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(node, path, {"args", "ok_exits", "timeout"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "args") {
                       check.args = ctx.string_list(value, child);
                     } else if (k == "ok_exits") {
                       check.ok_exits = read_exit_list(ctx, value, child);
                     } else if (auto d = ctx.duration_value(value, child)) {
                       check.timeout = *d;
                     }
                   });
  out = std::move(check);
}

void read_version(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                  std::optional<exec_version>& out) {
  if (!ctx.expect_map(node, path)) return;
  exec_version v;
  ctx.for_each_key(node, path, {"args", "pattern", "range", "timeout"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "args") {
                       v.args = ctx.string_list(value, child);
                     } else if (k == "timeout") {
                       if (auto d = ctx.duration_value(value, child)) v.timeout = *d;
                     } else if (auto s = ctx.string_value(value, child)) {
                       (k == "pattern" ? v.pattern : v.range) = std::move(*s);
                     }
                   });
  if (v.pattern.empty()) v.pattern = R"(v?([0-9]+\.[0-9]+(\.[0-9]+)?))";
  out = std::move(v);
}

// One argv element: "text", "text{{p}}?" (only when p is present), {when: p, args: [...]},
// or {if: "${var:x}", args: [...]} (kept only when the load-time value is non-empty).
void read_argv_element(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                       std::vector<argv_element>& out) {
  if (node.IsScalar()) {
    auto text = ctx.string_value(node, path);
    if (!text) return;
    argv_element e;
    if (text->size() > 3 && text->back() == '?' && text->compare(text->size() - 3, 2, "}}") == 0) {
      text->pop_back();
      const auto open = text->rfind("{{");
      e.when = text->substr(open + 2, text->size() - open - 4);
    }
    e.text = std::move(*text);
    out.push_back(std::move(e));
    return;
  }
  if (!ctx.expect_map(node, path)) return;
  std::string when;
  bool keep = true;
  YAML::Node args;
  ctx.for_each_key(node, path, {"when", "if", "args"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "args") {
                       args = value;
                     } else if (auto v = ctx.string_value(value, child)) {
                       if (k == "when") when = std::move(*v);
                       if (k == "if") keep = !v->empty() && *v != "false";
                     }
                   });
  if (!args.IsSequence()) {
    ctx.fail(node, path, "a conditional element needs `args:`, a list of strings");
    return;
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    const auto child = path + ".args[" + std::to_string(i) + "]";
    auto text = ctx.string_value(args[i], child);
    if (text && keep) out.push_back({std::move(*text), when});
  }
}

void read_argv(yaml_context& ctx, const YAML::Node& node, const std::string& path,
               std::vector<argv_element>& out) {
  if (!node.IsSequence()) {
    ctx.fail(node, path, "argv is a list: the arguments after the binary, one element each");
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    read_argv_element(ctx, node[i], path + "[" + std::to_string(i) + "]", out);
  }
}

void read_params(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                 std::vector<exec_param>& out) {
  if (!ctx.expect_map(node, path)) return;
  for (const auto& entry : node) {
    exec_param p;
    p.name = entry.first.Scalar();
    const auto child = yaml_context::join(path, p.name);
    if (!ctx.expect_map(entry.second, child)) continue;
    p.schema = ctx.json_value(entry.second, child);
    if (const auto r = p.schema.find("required"); r != p.schema.end() && r->is_boolean()) {
      p.required = r->get<bool>();
      p.schema.erase(r);
    }
    check_param_schema(ctx, entry.second, child, p);
    out.push_back(std::move(p));
  }
}

void read_annotations(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                      nlohmann::json& out) {
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(node, path,
                   {"title", "readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "title") {
                       if (auto v = ctx.string_value(value, child)) out[k] = *v;
                     } else if (auto b = ctx.bool_value(value, child)) {
                       out[k] = *b;
                     }
                   });
}

}  // namespace

void read_tool_body(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                    exec_tool& out, bool& keep_set) {
  ctx.for_each_key(
      node, path,
      {"title",
       "description",
       "binary",
       "sha256",
       "profile",
       "argv",
       "stdin",
       "params",
       "env",
       "cwd",
       "timeout",
       "kill_grace",
       "output",
       "exit_codes",
       "annotations",
       "sensitive",
       "untrusted_output",
       "preview",
       "plan_ttl",
       "stream",
       "check",
       "http",
       "sql"},
      [&](const std::string& k, const YAML::Node& value, const std::string& child) {
        if (k == "argv") return read_argv(ctx, value, child, out.argv);
        if (k == "params") return read_params(ctx, value, child, out.params);
        if (k == "env") return read_env(ctx, value, child, out.env);
        if (k == "output") {
          keep_set = value.IsMap() && value["keep"];
          return read_output(ctx, value, child, out.output);
        }
        if (k == "exit_codes") return read_exit_rules(ctx, value, child, 255, out.exit_codes);
        if (k == "annotations") return read_annotations(ctx, value, child, out.annotations);
        if (k == "stream") return read_stream(ctx, value, child, out.stream);
        if (k == "check") return read_check(ctx, value, child, out.check);
        if (k == "http") {
          out.kind = exec_kind::http;
          return read_http_tool(ctx, value, child, out.http);
        }
        if (k == "sql") {
          out.kind = exec_kind::sql;
          return read_sql_tool(ctx, value, child, out.sql);
        }
        if (k == "timeout" || k == "kill_grace" || k == "plan_ttl") {
          if (auto d = ctx.duration_value(value, child)) {
            (k == "timeout" ? out.timeout : k == "kill_grace" ? out.kill_grace : out.plan_ttl) = *d;
          }
          return;
        }
        if (k == "sensitive" || k == "untrusted_output") {
          if (auto b = ctx.bool_value(value, child))
            (k == "sensitive" ? out.sensitive : out.untrusted_output) = *b;
          return;
        }
        auto v = ctx.string_value(value, child);
        if (!v) return;
        if (k == "title") out.title = std::move(*v);
        if (k == "description") out.description = std::move(*v);
        if (k == "binary") out.binary = std::move(*v);
        if (k == "sha256") out.sha256 = std::move(*v);
        if (k == "profile") out.profile = std::move(*v);
        if (k == "stdin") out.stdin_param = std::move(*v);
        if (k == "cwd") out.cwd = std::move(*v);
        if (k == "preview") out.preview = std::move(*v);
      });
}

// Server-level values that tools inherit.
struct tool_defaults {
  std::string binary;
  std::string sha256;
  std::string profile;
  exec_env env;
  std::string cwd = "/";
};

void read_tools(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                const tool_defaults& defaults, std::vector<exec_tool>& out) {
  if (!ctx.expect_map(node, path)) return;
  for (const auto& entry : node) {
    exec_tool tool;
    tool.name = entry.first.Scalar();
    tool.position = ctx.position(entry.first);
    tool.binary = defaults.binary;
    tool.sha256 = defaults.sha256;
    tool.profile = defaults.profile;
    tool.cwd = defaults.cwd;
    const auto child = yaml_context::join(path, tool.name);
    if (!ctx.expect_map(entry.second, child)) continue;
    bool keep_set = false;
    exec_env own;
    read_tool_body(ctx, entry.second, child, tool, keep_set);
    own = std::move(tool.env);
    tool.env = defaults.env;
    for (auto& name : own.allow) tool.env.allow.push_back(std::move(name));
    for (auto& [name, value] : own.set) tool.env.set[name] = std::move(value);
    if (tool.env.set.find("PATH") == tool.env.set.end()) tool.env.set["PATH"] = "/usr/bin:/bin";
    if (tool.stream.enabled && !keep_set) tool.output.keep = keep_part::tail;
    if (tool.binary != defaults.binary && entry.second["sha256"].IsDefined() == false)
      tool.sha256.clear();
    out.push_back(std::move(tool));
  }
}

void read_exec(yaml_context& ctx, const YAML::Node& node, const std::string& path,
               exec_config& out) {
  if (!ctx.expect_map(node, path)) return;
  tool_defaults defaults;
  YAML::Node tools;
  ctx.for_each_key(node, path,
                   {"binary", "sha256", "profile", "env", "cwd", "version", "deny_flags",
                    "allow_flags", "max_concurrent", "http", "sql", "tools"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "tools") {
                       tools = value;
                     } else if (k == "env") {
                       read_env(ctx, value, child, defaults.env);
                     } else if (k == "version") {
                       read_version(ctx, value, child, out.version);
                     } else if (k == "deny_flags" || k == "allow_flags") {
                       (k == "deny_flags" ? out.deny_flags : out.allow_flags) =
                           ctx.string_list(value, child);
                     } else if (k == "max_concurrent") {
                       if (auto n = ctx.int_value(value, child, 1, 64))
                         out.max_concurrent = static_cast<std::size_t>(*n);
                     } else if (k == "http") {
                       read_http_server(ctx, value, child, out.http);
                     } else if (k == "sql") {
                       read_sql_server(ctx, value, child, out.sql);
                     } else if (auto v = ctx.string_value(value, child)) {
                       if (k == "binary") defaults.binary = *v;
                       if (k == "sha256") defaults.sha256 = *v;
                       if (k == "profile") defaults.profile = *v;
                       if (k == "cwd") defaults.cwd = *v;
                     }
                   });
  out.binary = defaults.binary;
  if (!tools.IsDefined() || tools.IsNull()) {
    ctx.fail(node, path, "an exec server declares its `tools:`");
    return;
  }
  read_tools(ctx, tools, path + ".tools", defaults, out.tools);
  check_exec(ctx, node, path, out);
}

}  // namespace manifold::config::detail
