// The REST (`http:`) and SQL (`sql:`) parts of an exec server's YAML.
#include <algorithm>

#include "exec_reader.hpp"

namespace manifold::config::detail {

namespace {

void read_credentials(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                      std::vector<http_credential>& out) {
  if (!node.IsSequence()) {
    ctx.fail(node, path, "credentials is a list of {header, prefix, env | file}");
    return;
  }
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto child = path + "[" + std::to_string(i) + "]";
    if (!ctx.expect_map(node[i], child)) continue;
    http_credential c;
    ctx.for_each_key(node[i], child, {"header", "prefix", "env", "file"},
                     [&](const std::string& k, const YAML::Node& value, const std::string& field) {
                       auto v = ctx.string_value(value, field);
                       if (!v) return;
                       if (k == "header") c.header = std::move(*v);
                       if (k == "prefix") c.prefix = std::move(*v);
                       if (k == "env") c.env = std::move(*v);
                       if (k == "file") c.file = std::move(*v);
                     });
    if (c.header.empty() || c.env.empty() == c.file.empty()) {
      ctx.fail(node[i], child, "a credential names a `header` and exactly one of `env` or `file`");
    }
    out.push_back(std::move(c));
  }
}

std::vector<std::pair<std::string, std::string>> ordered_map(yaml_context& ctx,
                                                             const YAML::Node& node,
                                                             const std::string& path) {
  std::vector<std::pair<std::string, std::string>> out;
  if (!ctx.expect_map(node, path)) return out;
  for (const auto& entry : node) {
    const auto key = entry.first.Scalar();
    if (auto v = ctx.string_value(entry.second, yaml_context::join(path, key))) {
      out.emplace_back(key, std::move(*v));
    }
  }
  return out;
}

void read_status(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                 std::vector<exit_rule>& out) {
  if (!ctx.expect_map(node, path)) return;
  for (const auto& entry : node) {
    const auto child = yaml_context::join(path, entry.first.Scalar());
    const auto code = ctx.int_value(entry.first, child, 100, 599);
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

}  // namespace

void read_http_server(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                      http_server_spec& out) {
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(node, path, {"base_url", "headers", "credentials", "ca_file"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "headers") {
                       out.headers = ctx.string_map(value, child);
                     } else if (k == "credentials") {
                       read_credentials(ctx, value, child, out.credentials);
                     } else if (auto v = ctx.string_value(value, child)) {
                       (k == "base_url" ? out.base_url : out.ca_file) = std::move(*v);
                     }
                   });
  if (out.base_url.rfind("http://", 0) != 0 && out.base_url.rfind("https://", 0) != 0) {
    ctx.fail(node, path, "base_url must be an http:// or https:// URL");
  }
  if (out.base_url.find("{{") != std::string::npos) {
    ctx.fail(node, path,
             "base_url takes no parameter slots (parameters go in a tool's path or query)");
  }
}

void read_http_tool(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                    http_tool_spec& out) {
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(
      node, path, {"method", "path", "query", "headers", "body", "project", "status"},
      [&](const std::string& k, const YAML::Node& value, const std::string& child) {
        if (k == "query") {
          out.query = ordered_map(ctx, value, child);
        } else if (k == "project") {
          out.project = ordered_map(ctx, value, child);
        } else if (k == "headers") {
          out.headers = ctx.string_map(value, child);
        } else if (k == "body") {
          out.body = ctx.json_value(value, child);
        } else if (k == "status") {
          read_status(ctx, value, child, out.status);
        } else if (auto v = ctx.string_value(value, child)) {
          if (k == "method") {
            const std::vector<std::string> methods{"GET", "POST", "PUT", "PATCH", "DELETE"};
            if (std::find(methods.begin(), methods.end(), *v) == methods.end()) {
              ctx.fail(value, child, "method must be GET, POST, PUT, PATCH or DELETE");
            }
            out.method = std::move(*v);
          } else {
            if (v->empty() || v->front() != '/') ctx.fail(value, child, "path starts with /");
            out.path = std::move(*v);
          }
        }
      });
  for (const auto& [field, pointer] : out.project) {
    if (!pointer.empty() && pointer.front() != '/') {
      ctx.fail(node["project"], path + ".project." + field,
               "a JSON pointer is empty or starts with /");
    }
  }
}

void read_sql_server(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                     sql_server_spec& out) {
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(node, path, {"driver", "dsn", "dsn_env", "dsn_file", "path"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     auto v = ctx.string_value(value, child);
                     if (!v) return;
                     if (k == "driver") out.driver = std::move(*v);
                     if (k == "dsn") out.dsn = std::move(*v);
                     if (k == "dsn_env") out.dsn_env = std::move(*v);
                     if (k == "dsn_file") out.dsn_file = std::move(*v);
                     if (k == "path") out.path = std::move(*v);
                   });
  if (out.driver == "postgres") {
    const int sources =
        int{!out.dsn.empty()} + int{!out.dsn_env.empty()} + int{!out.dsn_file.empty()};
    if (sources != 1) ctx.fail(node, path, "postgres needs exactly one of dsn, dsn_env, dsn_file");
  } else if (out.driver == "sqlite") {
    if (out.path.empty() || out.path.front() != '/') {
      ctx.fail(node, path, "sqlite needs `path`, an absolute file name");
    }
  } else {
    ctx.fail(node, path, "driver must be postgres or sqlite");
  }
}

void read_sql_tool(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                   sql_tool_spec& out) {
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(node, path, {"query", "bind", "mutating", "max_rows"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "bind") {
                       out.bind = ctx.string_list(value, child);
                     } else if (k == "mutating") {
                       if (auto b = ctx.bool_value(value, child)) out.mutating = *b;
                     } else if (k == "max_rows") {
                       if (auto n = ctx.int_value(value, child, 1, 100000))
                         out.max_rows = static_cast<std::size_t>(*n);
                     } else if (auto v = ctx.string_value(value, child)) {
                       out.query = std::move(*v);
                     }
                   });
  if (out.query.empty()) ctx.fail(node, path, "a sql tool needs its `query`");
}

}  // namespace manifold::config::detail
