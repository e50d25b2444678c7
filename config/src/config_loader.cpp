#include "manifold/config/config_loader.hpp"

#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "exec_reader.hpp"
#include "observe_reader.hpp"
#include "sessions_reader.hpp"
#include "supervision_reader.hpp"
#include "manifold/config/config_error.hpp"
#include "manifold/config/interpolate.hpp"
#include "manifold/config/units.hpp"

namespace manifold::config {

namespace {

YAML::Node load_document(const std::string& text, const std::string& file,
                         std::vector<diagnostic>& diagnostics);

// True when `text` is well-formed UTF-8 (no overlong forms, surrogates or code points past
// U+10FFFF): what JSON text, and so every string manifold relays, must be.
bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    const auto b = static_cast<unsigned char>(text[i]);
    std::size_t extra = 0;
    std::uint32_t cp = 0;
    if (b < 0x80U) {
      ++i;
      continue;
    }
    if ((b & 0xE0U) == 0xC0U) {
      extra = 1;
      cp = b & 0x1FU;
    } else if ((b & 0xF0U) == 0xE0U) {
      extra = 2;
      cp = b & 0x0FU;
    } else if ((b & 0xF8U) == 0xF0U) {
      extra = 3;
      cp = b & 0x07U;
    } else {
      return false;
    }
    if (i + extra >= text.size()) return false;  // cut short
    for (std::size_t k = 1; k <= extra; ++k) {
      const auto c = static_cast<unsigned char>(text[i + k]);
      if ((c & 0xC0U) != 0x80U) return false;
      cp = (cp << 6U) | (c & 0x3FU);
    }
    static constexpr std::uint32_t smallest[] = {0, 0x80, 0x800, 0x10000};
    if (cp < smallest[extra] || cp > 0x10FFFFU || (cp >= 0xD800U && cp <= 0xDFFFU)) return false;
    i += extra + 1;
  }
  return true;
}


bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Walks the YAML tree once, collecting every problem instead of stopping at the first.
class reader {
 public:
  reader(std::string file, const env_lookup& env) : file_(std::move(file)), env_(env) {}

  // A host's own config: Claude Desktop / Cursor `{"mcpServers": {...}}`, or VS Code's
  // `{"servers": {...}, "inputs": [...]}` (a .json file whose servers carry `type`).
  static bool is_host_config(const YAML::Node& root, const std::string& file) {
    if (!root.IsMap()) return false;
    if (root["mcpServers"]) return true;
    const bool json = file.size() > 5 && file.compare(file.size() - 5, 5, ".json") == 0;
    return json && root["servers"] && root["servers"].IsMap();
  }

  config read_host_config(const YAML::Node& root) {
    config out;
    out.source = file_;
    const bool vscode = !root["mcpServers"];
    const auto key = vscode ? "servers" : "mcpServers";
    for (const auto& top : root) {
      const auto name = top.first.Scalar();
      if (name != key && name != "inputs" && name != "$schema") {
        fail(top.first, name, "unknown key `" + name + "` in a host config (expected `" + key + "`)");
      }
    }
    const auto servers = root[key];
    if (!expect_map(servers, key)) return out;
    for (const auto& entry : servers) {
      const auto name = entry.first.Scalar();
      const auto path = std::string(key) + "." + name;
      if (!expect_map(entry.second, path)) continue;
      if (entry.second["disabled"] && entry.second["disabled"].IsScalar() &&
          entry.second["disabled"].Scalar() == "true") {
        continue;  // the host would not start it either
      }
      server_config server;
      server.name.clear();
      for (const char c : name) server.name += is_name_char(c) ? c : '_';
      server.namespace_ = server.name;
      const auto mark = entry.first.Mark();
      server.position = {file_, mark.line + 1, mark.column + 1};
      for_each_key(entry.second, path,
                   {"command", "args", "env", "cwd", "url", "headers", "type", "disabled",
                    "autoApprove", "alwaysAllow", "envFile", "timeout"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "command") {
                       if (auto v = string_value(value, child)) server.command = std::move(*v);
                     } else if (k == "args") {
                       read_string_list(value, child, server.args);
                     } else if (k == "env") {
                       read_string_map(value, child, server.env);
                     } else if (k == "headers") {
                       read_string_map(value, child, server.headers);
                     } else if (k == "cwd") {
                       if (auto v = string_value(value, child)) server.cwd = std::move(*v);
                     } else if (k == "url") {
                       if (auto v = string_value(value, child)) server.url = std::move(*v);
                     } else if (k == "type") {
                       if (auto v = string_value(value, child)) {
                         if (*v == "http" || *v == "streamableHttp" || *v == "streamable-http") {
                           server.transport = transport_kind::http;
                         } else if (*v == "sse") {
                           server.transport = transport_kind::sse;
                         } else if (*v != "stdio") {
                           fail(value, child, "type must be stdio, http or sse");
                         }
                       }
                     } else if (k == "envFile") {
                       fail(value, child, "envFile is not supported; list the variables under env");
                     }
                     // disabled, autoApprove, alwaysAllow, timeout: host-side settings.
                   });
      if (server.command.empty() && server.url.empty()) {
        fail(entry.first, path, "a server needs either `command` or `url`");
        continue;
      }
      if (!server.url.empty() && server.transport == transport_kind::stdio) {
        server.transport = transport_kind::automatic;
      }
      out.servers.push_back(std::move(server));
    }
    return out;
  }

  // A `--faults FILE`: a mapping with only `faults:`.
  std::vector<fault_rule> read_faults_document(const YAML::Node& root) {
    std::vector<fault_rule> out;
    if (!root.IsMap()) {
      fail(root, "", "a faults file is a mapping with `faults:` (a list)");
      return out;
    }
    for_each_key(root, "", {"faults"}, [&](const std::string&, const YAML::Node& value, const std::string& path) {
      detail::yaml_context ctx(file_, env_, diagnostics_);
      detail::read_faults(ctx, value, path, out);
    });
    return out;
  }

  config read_document(const YAML::Node& root) {
    if (is_host_config(root, file_)) return read_host_config(root);
    config out;
    out.source = file_;
    if (!root.IsDefined() || root.IsNull()) {
      fail(root, "", "the file is empty; expected a mapping with at least `servers:`");
      return out;
    }
    if (!root.IsMap()) {
      fail(root, "", "expected a mapping at the top level");
      return out;
    }
    for_each_key(root, "",
                 {"naming", "limits", "http", "servers", "tools", "groups", "pinning", "auth", "roles", "audit",
                  "identity_signing_key", "include", "metrics", "tracing", "logs", "tap", "ui", "lifecycle",
                  "faults"},
                 [&](const std::string& key, const YAML::Node& value, const std::string& path) {
                   if (detail::is_observe_key(key)) {
                     read_observe_section(key, value, path, out);
                   } else if (key == "lifecycle" || key == "faults") {
                     detail::yaml_context ctx(file_, env_, diagnostics_);
                     if (key == "lifecycle") {
                       detail::read_lifecycle(ctx, value, path, out.lifecycle);
                     } else {
                       detail::read_faults(ctx, value, path, out.faults);
                     }
                   } else if (key == "include") {
                     read_includes(value, path, out);
                   } else if (key == "auth") {
                     read_auth(value, path, out.auth);
                   } else if (key == "roles") {
                     read_roles(value, path, out.roles);
                   } else if (key == "audit") {
                     read_audit(value, path, out.audit);
                   } else if (key == "identity_signing_key") {
                     read_signing_key(value, path, out.identity_signing_key);
                   } else if (key == "pinning") {
                     read_pinning(value, path, out.pinning);
                   } else if (key == "groups") {
                     read_groups(value, path, out.groups);
                   } else if (key == "tools") {
                     read_tool_overrides(value, path, out.tools);
                   } else if (key == "naming") {
                     read_naming(value, path, out.naming);
                   } else if (key == "http") {
                     read_http(value, path, out.http, out.key_files);
                   } else if (key == "limits") {
                     read_limits(value, path, out.limits);
                   } else {
                     read_servers(value, path, out.servers);
                   }
                 });
    check_unique_servers(out.servers);
    check_access(root, out);
    detail::apply_lifecycle_defaults(out);
    // With authentication on, a stdio server nobody configured otherwise gets an instance per
    // principal: one caller's files, memory or credentials are never another's.
    for (auto& s : out.servers) {
      if (!s.isolation_set && !s.command.empty() && out.auth.enabled()) s.isolation = isolation_mode::principal;
    }
    if (out.naming.separator.find('.') != std::string::npos && !out.naming.spec_charset) {
      fail(root["naming"]["separator"], "naming.separator",
           "`.` is outside the strict charset hosts accept; use another separator or set "
           "naming.charset: spec");
    }
    return out;
  }

  // A pack file (`include:`): `vars:` it declares and `servers:` it adds.
  std::vector<server_config> read_pack(const YAML::Node& root) {
    std::vector<server_config> out;
    if (!root.IsMap()) {
      fail(root, "", "a pack is a mapping with `servers:` (and optional `vars:`, `description:`)");
      return out;
    }
    for_each_key(root, "", {"description", "vars", "servers"},
                 [&](const std::string& key, const YAML::Node& value, const std::string& path) {
                   if (key == "servers") read_servers(value, path, out);
                 });
    return out;
  }

  void fail(const YAML::Node& node, const std::string& path, std::string message) {
    source_position pos{file_, 0, 0};
    if (node.IsDefined()) {
      const auto mark = node.Mark();
      if (mark.line >= 0) {
        pos.line = mark.line + 1;
        pos.column = mark.column + 1;
      }
    }
    diagnostics_.push_back({std::move(pos), path, std::move(message)});
  }

  void fail_at(const YAML::Mark& mark, std::string message) {
    diagnostics_.push_back({{file_, mark.line + 1, mark.column + 1}, "", std::move(message)});
  }

  std::vector<diagnostic>& diagnostics() { return diagnostics_; }

 private:
  template <typename F>
  void for_each_key(const YAML::Node& map, const std::string& path,
                    std::initializer_list<std::string_view> allowed, F&& on_key) {
    std::set<std::string> seen;
    for (const auto& entry : map) {
      const auto key = entry.first.Scalar();
      const auto child = join(path, key);
      if (!seen.insert(key).second) {
        fail(entry.first, child, "duplicate key");
        continue;
      }
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        fail(entry.first, child, "unknown key `" + key + "` (allowed: " + list(allowed) + ")");
        continue;
      }
      on_key(key, entry.second, child);
    }
  }

  static std::string join(const std::string& path, const std::string& key) {
    return path.empty() ? key : path + "." + key;
  }

  static std::string list(std::initializer_list<std::string_view> items) {
    std::string out;
    for (const auto item : items) {
      if (!out.empty()) out += ", ";
      out += item;
    }
    return out;
  }

  bool expect_map(const YAML::Node& node, const std::string& path) {
    if (node.IsMap()) return true;
    fail(node, path, "expected a mapping");
    return false;
  }

  std::optional<std::string> string_value(const YAML::Node& node, const std::string& path) {
    if (!node.IsScalar()) {
      fail(node, path, "expected a string");
      return std::nullopt;
    }
    auto expanded = interpolate(node.Scalar(), env_);
    if (!expanded.error.empty()) {
      fail(node, path, expanded.error);
      return std::nullopt;
    }
    // A NUL would cut a path or an argument where the operating system reads it.
    if (expanded.value.find('\0') != std::string::npos) {
      fail(node, path, "contains a NUL byte");
      return std::nullopt;
    }
    if (!valid_utf8(expanded.value)) {
      fail(node, path, "is not valid UTF-8");
      return std::nullopt;
    }
    return std::move(expanded.value);
  }

  std::optional<std::chrono::milliseconds> duration_value(const YAML::Node& node,
                                                          const std::string& path) {
    const auto text = string_value(node, path);
    if (!text) return std::nullopt;
    const auto d = parse_duration(*text);
    if (!d || d->count() <= 0) {
      fail(node, path, "expected a positive duration such as 500ms, 30s or 2m, not \"" + *text + "\"");
      return std::nullopt;
    }
    return d;
  }

  void read_naming(const YAML::Node& node, const std::string& path, naming_config& out) {
    if (!expect_map(node, path)) return;
    // A profile sets defaults; explicit keys (in any order) override it.
    if (const auto profile = node["profile"]; profile && profile.IsScalar()) {
      const auto name = profile.Scalar();
      if (name == "claude" || name == "cursor" || name == "vscode" || name == "spec") {
        out.profile = name;
        out.spec_charset = name == "spec";
        out.max_length = name == "spec" ? 128 : name == "cursor" ? 60 : 64;
        out.tool_cap = name == "cursor" ? 40 : name == "vscode" ? 128 : 0;
      }
    }
    for_each_key(node, path,
                 {"separator", "prefix", "profile", "charset", "max_length", "on_collision", "tool_cap",
                  "meta_tools"},
                 [&](const std::string& key, const YAML::Node& value, const std::string& child) {
                   if (key == "tool_cap") {
                     const auto v = string_value(value, child);
                     if (v && v->find_first_not_of("0123456789") == std::string::npos && !v->empty()) {
                       out.tool_cap = std::stoul(*v);
                     } else if (v) {
                       fail(value, child, "tool_cap must be a whole number (0: no cap)");
                     }
                     return;
                   }
                   if (key == "meta_tools") {
                     const auto v = string_value(value, child);
                     if (v && (*v == "true" || *v == "false")) {
                       out.meta_tools = *v == "true";
                     } else if (v) {
                       fail(value, child, "meta_tools must be true or false");
                     }
                     return;
                   }
                   if (key == "profile") {
                     if (out.profile.empty()) fail(value, child, "profile must be claude, cursor, vscode or spec");
                     return;
                   }
                   if (key == "charset") {
                     const auto v = string_value(value, child);
                     if (v && (*v == "strict" || *v == "spec")) {
                       out.spec_charset = *v == "spec";
                     } else if (v) {
                       fail(value, child, "charset must be `strict` ([A-Za-z0-9_-]) or `spec` ([A-Za-z0-9_.-])");
                     }
                     return;
                   }
                   if (key == "max_length") {
                     const auto v = string_value(value, child);
                     const auto n = v ? parse_size(*v) : std::nullopt;
                     if (!n || *n < 16 || *n > 128 || v->find_first_not_of("0123456789") != std::string::npos) {
                       if (v) fail(value, child, "max_length must be a number from 16 to 128");
                       return;
                     }
                     out.max_length = *n;
                     return;
                   }
                   if (key == "on_collision") {
                     const auto v = string_value(value, child);
                     if (!v) return;
                     if (*v == "first-wins") {
                       out.on_collision = collision_rule::first_wins;
                     } else if (*v == "priority") {
                       out.on_collision = collision_rule::priority;
                     } else if (*v == "error") {
                       out.on_collision = collision_rule::error;
                     } else {
                       fail(value, child, "on_collision must be error, first-wins or priority");
                     }
                     return;
                   }
                   if (key == "prefix") {
                     const auto mode = string_value(value, child);
                     if (!mode) return;
                     if (*mode == "always") {
                       out.prefix = prefix_mode::always;
                     } else if (*mode == "when-needed") {
                       out.prefix = prefix_mode::when_needed;
                     } else if (*mode == "never") {
                       out.prefix = prefix_mode::never;
                     } else {
                       fail(value, child, "prefix must be always, when-needed or never");
                     }
                     return;
                   }
                   const auto sep = string_value(value, child);
                   if (!sep) return;
                   if (sep->empty() || sep->size() > 8 ||
                       !std::all_of(sep->begin(), sep->end(),
                                    [](char c) { return is_name_char(c) || c == '.'; })) {
                     fail(value, child, "separator must be 1-8 characters from [A-Za-z0-9_.-]");
                     return;
                   }
                   out.separator = *sep;
                 });
  }

  void read_limits(const YAML::Node& node, const std::string& path, limits_config& out) {
    if (!expect_map(node, path)) return;
    for_each_key(node, path,
                 {"max_message_size", "page_size", "max_in_flight", "upstream_max_in_flight",
                  "max_queued", "write_timeout", "global", "concurrency_queue", "concurrency_wait"},
                 [&](const std::string& key, const YAML::Node& value, const std::string& child) {
                   if (key == "global") {
                     read_global_limit(value, child, out.global);
                     return;
                   }
                   if (key == "concurrency_queue") {
                     if (auto n = count_value(value, child, 0)) out.concurrency_queue = *n;
                     return;
                   }
                   if (key == "concurrency_wait") {
                     if (auto d = duration_value(value, child)) out.concurrency_wait = *d;
                     return;
                   }
                   if (key == "page_size") {
                     const auto text = string_value(value, child);
                     const auto n = text ? parse_size(*text) : std::nullopt;
                     if (!n || text->find_first_not_of("0123456789") != std::string::npos) {
                       if (text) fail(value, child, "expected a whole number of items (0: no paging)");
                       return;
                     }
                     out.page_size = *n;
                   } else if (key == "max_in_flight") {
                     if (const auto n = count_value(value, child, 1)) out.max_in_flight = *n;
                   } else if (key == "upstream_max_in_flight") {
                     if (const auto n = count_value(value, child, 1)) out.upstream_max_in_flight = *n;
                   } else if (key == "write_timeout") {
                     if (const auto d = duration_value(value, child)) out.write_timeout = *d;
                   } else if (const auto size = size_value(value, child, 1024)) {
                     (key == "max_queued" ? out.max_queued_bytes : out.max_message_bytes) = *size;
                   }
                 });
    if (out.max_queued_bytes < out.max_message_bytes) {
      fail(node, path + ".max_queued",
           "must be at least max_message_size: one whole message must fit in a peer's queue");
    }
  }

  std::optional<std::size_t> size_value(const YAML::Node& node, const std::string& path,
                                        std::size_t minimum) {
    const auto text = string_value(node, path);
    if (!text) return std::nullopt;
    const auto size = parse_size(*text);
    if (!size || *size < minimum) {
      fail(node, path,
           "expected a size of at least 1KiB such as 4MiB or 512KiB, not \"" + *text + "\"");
      return std::nullopt;
    }
    return size;
  }

  std::optional<std::size_t> count_value(const YAML::Node& node, const std::string& path,
                                         std::size_t minimum) {
    const auto text = string_value(node, path);
    if (!text) return std::nullopt;
    const auto n = parse_size(*text);
    if (!n || *n < minimum) {
      fail(node, path, "expected a number of at least " + std::to_string(minimum));
      return std::nullopt;
    }
    return n;
  }

  void read_tls(const YAML::Node& node, const std::string& path, http_config::tls_config& out) {
    if (!expect_map(node, path)) return;
    for_each_key(node, path, {"cert", "key", "client_ca"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   auto v = string_value(value, child);
                   if (!v) return;
                   auto file = beside_config_file(std::move(*v));
                   if (!std::filesystem::is_regular_file(file)) {
                     fail(value, child, "no such file: " + file);
                     return;
                   }
                   (k == "cert" ? out.cert : k == "key" ? out.key : out.client_ca) = std::move(file);
                 });
    if (out.cert.empty() != out.key.empty()) fail(node, path, "tls needs both `cert` and `key`");
  }

  void read_http(const YAML::Node& node, const std::string& path, http_config& out,
                 std::vector<std::string>& key_files) {
    if (!expect_map(node, path)) return;
    for_each_key(
        node, path,
        {"listen", "allowed_origins", "allowed_hosts", "max_header_size", "max_sessions",
         "session_idle_timeout", "read_timeout", "replay_events", "tls", "sessions"},
        [&](const std::string& k, const YAML::Node& value, const std::string& child) {
          if (k == "tls") {
            read_tls(value, child, out.tls);
          } else if (k == "sessions") {
            detail::yaml_context ctx(file_, env_, diagnostics_);
            detail::read_sessions(ctx, value, child, out.sessions, key_files);
          } else if (k == "listen") {
            if (auto v = string_value(value, child)) {
              if (v->rfind(':') == std::string::npos) {
                fail(value, child, "listen must be ADDRESS:PORT, such as 127.0.0.1:8080");
              }
              out.listen = std::move(*v);
            }
          } else if (k == "allowed_origins") {
            read_string_list(value, child, out.allowed_origins);
          } else if (k == "allowed_hosts") {
            read_string_list(value, child, out.allowed_hosts);
          } else if (k == "max_header_size") {
            if (auto n = count_value(value, child, 1024)) out.max_header_bytes = *n;
          } else if (k == "max_sessions") {
            if (auto n = count_value(value, child, 1)) out.max_sessions = *n;
          } else if (k == "replay_events") {
            if (auto n = count_value(value, child, 0)) out.replay_events = *n;
          } else if (k == "session_idle_timeout") {
            if (auto d = duration_value(value, child)) out.session_idle_timeout = *d;
          } else {
            if (auto d = duration_value(value, child)) out.read_timeout = *d;
          }
        });
  }

  void read_servers(const YAML::Node& node, const std::string& path,
                    std::vector<server_config>& out) {
    if (node.IsNull()) return;
    if (!expect_map(node, path)) return;
    std::set<std::string> seen;
    for (const auto& entry : node) {
      const auto name = entry.first.Scalar();
      const auto child = join(path, name);
      if (!seen.insert(name).second) {
        fail(entry.first, child, "duplicate server name");
        continue;
      }
      server_config server;
      server.name = name;
      server.namespace_ = name;
      const auto mark = entry.first.Mark();
      server.position = {file_, mark.line + 1, mark.column + 1};
      if (read_server(entry.first, entry.second, child, server)) out.push_back(std::move(server));
    }
  }

  bool read_server(const YAML::Node& key, const YAML::Node& node, const std::string& path,
                   server_config& out) {
    if (!expect_map(node, path)) return false;
    const auto before = diagnostics_.size();
    bool transport_set = false;
    for_each_key(
        node, path,
        {"command", "args", "env", "cwd", "url", "transport", "protocol", "headers", "namespace", "timeout",
         "startup_timeout", "isolation", "priority", "tools", "prompts", "resources", "oauth",
         "forward_identity", "concurrency", "exec", "start", "idle_timeout", "on_down", "restart", "health",
         "breaker"},
        [&](const std::string& k, const YAML::Node& value, const std::string& child) {
          if (detail::is_supervision_server_key(k)) {
            detail::yaml_context ctx(file_, env_, diagnostics_);
            detail::read_server_supervision(ctx, k, value, child, out.supervision);
          } else if (k == "exec") {
            read_exec_section(value, child, out);
          } else if (k == "command") {
            if (auto v = string_value(value, child)) {
              if (v->empty()) fail(value, child, "command must not be empty");
              out.command = std::move(*v);
            }
          } else if (k == "args") {
            read_string_list(value, child, out.args);
          } else if (k == "env") {
            read_string_map(value, child, out.env);
          } else if (k == "headers") {
            read_string_map(value, child, out.headers);
          } else if (k == "cwd") {
            if (auto v = string_value(value, child)) out.cwd = std::move(*v);
          } else if (k == "url") {
            if (auto v = string_value(value, child)) {
              if (v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0 &&
                  v->rfind("ws://", 0) != 0 && v->rfind("wss://", 0) != 0) {
                fail(value, child, "url must start with http://, https://, ws:// or wss://");
              }
              out.url = std::move(*v);
            }
          } else if (k == "transport") {
            if (auto v = string_value(value, child)) {
              transport_set = true;
              if (*v == "stdio") {
                out.transport = transport_kind::stdio;
              } else if (*v == "http") {
                out.transport = transport_kind::http;
              } else if (*v == "sse") {
                out.transport = transport_kind::sse;
              } else if (*v == "websocket") {
                out.transport = transport_kind::websocket;
              } else if (*v == "auto") {
                out.transport = transport_kind::automatic;
              } else {
                fail(value, child, "transport must be one of auto, http, sse, websocket, stdio");
              }
            }
          } else if (k == "protocol") {
            if (auto v = string_value(value, child)) {
              if (*v == "legacy") {
                out.protocol = server_config::era::legacy;
              } else if (*v == "modern") {
                out.protocol = server_config::era::modern;
              } else if (*v == "auto") {
                out.protocol = server_config::era::automatic;
              } else {
                fail(value, child, "protocol must be one of legacy, modern, auto");
              }
            }
          } else if (k == "namespace") {
            if (auto v = string_value(value, child)) {
              if (v->empty() || !std::all_of(v->begin(), v->end(), is_name_char)) {
                fail(value, child, "namespace must be non-empty and use only [A-Za-z0-9_-]");
              }
              out.namespace_ = std::move(*v);
            }
          } else if (k == "priority") {
            if (auto v = string_value(value, child)) {
              try {
                std::size_t used = 0;
                out.priority = std::stoi(*v, &used);
                if (used != v->size()) throw std::invalid_argument("trailing");
              } catch (const std::exception&) {
                fail(value, child, "priority must be a whole number");
              }
            }
          } else if (k == "tools" || k == "prompts" || k == "resources") {
            read_filter(value, child, k == "tools" ? out.tools : k == "prompts" ? out.prompts : out.resources);
          } else if (k == "isolation") {
            if (auto v = string_value(value, child)) {
              out.isolation_set = true;
              if (*v == "shared") {
                out.isolation = isolation_mode::shared;
              } else if (*v == "session") {
                out.isolation = isolation_mode::session;
              } else if (*v == "principal") {
                out.isolation = isolation_mode::principal;
              } else {
                fail(value, child, "isolation must be `shared`, `session` or `principal`");
              }
            }
          } else if (k == "oauth") {
            read_oauth(value, child, out.name, out.oauth);
          } else if (k == "forward_identity") {
            read_forward_identity(value, child, out.forward_identity);
          } else if (k == "concurrency") {
            if (auto n = count_value(value, child, 1)) out.concurrency = *n;
          } else if (k == "timeout") {
            if (auto d = duration_value(value, child)) out.timeout = *d;
          } else {
            if (auto d = duration_value(value, child)) out.startup_timeout = *d;
          }
        });
    if (diagnostics_.size() != before) return false;

    const int kinds = int{!out.command.empty()} + int{!out.url.empty()} + int{out.exec.has_value()};
    if (kinds == 0) {
      fail(key, path,
           "a server needs either `command` (stdio), `url` (HTTP/WebSocket) or `exec` (declared tools)");
      return false;
    }
    if (kinds > 1) {
      fail(key, path, "a server has one of `command`, `url` or `exec`, not both");
      return false;
    }
    if (out.exec && !node["timeout"]) out.timeout = longest_run(*out.exec);
    if (out.protocol != server_config::era::legacy && out.command.empty()) {
      fail(node["protocol"], path + ".protocol",
           "MCP 2026-07-28 upstreams are supported over stdio (`command`) only, for now");
      return false;
    }
    if (out.exec && transport_set) {
      fail(node["transport"], path + ".transport", "an `exec` server is served in-process");
      return false;
    }
    if (!out.command.empty() && transport_set && out.transport != transport_kind::stdio) {
      fail(node["transport"], path + ".transport", "a `command` server speaks stdio");
      return false;
    }
    if (!out.url.empty()) {
      if (!transport_set) out.transport = transport_kind::automatic;
      if (out.transport == transport_kind::stdio) {
        fail(node["transport"], path + ".transport", "a `url` server cannot use stdio");
        return false;
      }
    }
    if (out.namespace_ == out.name &&
        !std::all_of(out.name.begin(), out.name.end(), is_name_char)) {
      fail(key, path,
           "server name becomes the tool-name prefix and must use only [A-Za-z0-9_-]; "
           "rename it or set `namespace:`");
      return false;
    }
    return true;
  }

  // `metrics`, `tracing`, `logs`, `tap`, `ui` (observe_reader.cpp).
  void read_observe_section(const std::string& key, const YAML::Node& node, const std::string& path,
                            config& out) {
    detail::yaml_context ctx(file_, env_, diagnostics_);
    detail::read_observe(ctx, key, node, path, out);
  }

  // `exec:` a server manifold serves itself (exec_reader.cpp).
  void read_exec_section(const YAML::Node& node, const std::string& path, server_config& out) {
    detail::yaml_context ctx(file_, env_, diagnostics_);
    out.exec.emplace();
    detail::read_exec(ctx, node, path, *out.exec);
  }

  // `oauth: false`, or a map of the oauth_config fields.
  void read_oauth(const YAML::Node& node, const std::string& path, const std::string& server, oauth_config& out) {
    if (node.IsScalar()) {
      if (node.Scalar() == "false" || node.Scalar() == "true") {
        out.enabled = node.Scalar() == "true";
      } else {
        fail(node, path, "oauth is `false`, `true` or a map");
      }
      return;
    }
    if (!expect_map(node, path)) return;
    for_each_key(node, path,
                 {"grant", "client_id", "client_secret", "client_metadata_url", "client_name", "redirect_uri",
                  "authorize_timeout", "private_key", "private_key_file", "signing_algorithm", "scopes",
                  "subject_token_type", "audience"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   if (k == "authorize_timeout") {
                     if (auto d = duration_value(value, child)) out.authorize_timeout = *d;
                     return;
                   }
                   if (k == "scopes") {
                     read_string_list(value, child, out.scopes);
                     return;
                   }
                   auto v = string_value(value, child);
                   if (!v) return;
                   if (k == "grant") {
                     if (*v == "authorization_code") {
                       out.grant = oauth_grant::authorization_code;
                     } else if (*v == "client_credentials") {
                       out.grant = oauth_grant::client_credentials;
                     } else if (*v == "token_exchange") {
                       out.grant = oauth_grant::token_exchange;
                       token_exchange_refs_.push_back({value, child, server});
                     } else {
                       fail(value, child, "grant must be `authorization_code`, `client_credentials` or `token_exchange`");
                     }
                   } else if (k == "private_key" || k == "private_key_file") {
                     if (!out.private_key_pem.empty()) fail(value, child, "give `private_key` or `private_key_file`, not both");
                     if (k == "private_key") {
                       out.private_key_pem = std::move(*v);
                     } else {
                       std::ifstream in(beside_config_file(std::move(*v)), std::ios::binary);
                       std::ostringstream text;
                       text << in.rdbuf();
                       if (!in) fail(value, child, "cannot read the private key file");
                       out.private_key_pem = text.str();
                     }
                     if (out.private_key_pem.find("-----BEGIN") == std::string::npos ||
                         out.private_key_pem.find("PRIVATE KEY-----") == std::string::npos) {
                       fail(value, child, "the private key must be PEM (-----BEGIN PRIVATE KEY-----)");
                     }
                   } else if (k == "signing_algorithm") {
                     static const std::set<std::string> known{"RS256", "RS384", "RS512", "PS256", "PS384",
                                                              "PS512", "ES256", "ES384", "ES512", "EdDSA"};
                     if (known.count(*v) == 0) fail(value, child, "signing_algorithm must be one of RS256..512, PS256..512, ES256..512, EdDSA");
                     out.signing_algorithm = std::move(*v);
                   } else if (k == "subject_token_type") {
                     if (v->rfind("urn:ietf:params:oauth:token-type:", 0) != 0) {
                       fail(value, child, "subject_token_type is an RFC 8693 token type URI (urn:ietf:params:oauth:token-type:...)");
                     }
                     out.subject_token_type = std::move(*v);
                   } else if (k == "audience") {
                     out.audience = std::move(*v);
                   } else if (k == "client_id") {
                     out.client_id = std::move(*v);
                   } else if (k == "client_secret") {
                     out.client_secret = std::move(*v);
                   } else if (k == "client_metadata_url") {
                     if (v->rfind("https://", 0) != 0) fail(value, child, "client_metadata_url must be an https URL");
                     out.client_metadata_url = std::move(*v);
                   } else if (k == "client_name") {
                     out.client_name = std::move(*v);
                   } else {
                     if (v->rfind("http://", 0) != 0 && v->rfind("https://", 0) != 0) {
                       fail(value, child, "redirect_uri must be an http(s) URL");
                     }
                     out.redirect_uri = std::move(*v);
                   }
                 });
    if (!out.client_secret.empty() && out.client_id.empty()) {
      fail(node, path, "client_secret needs client_id");
    }
    if (!out.private_key_pem.empty() && out.client_id.empty()) fail(node, path, "private_key needs client_id");
    if (out.grant != oauth_grant::authorization_code && out.client_id.empty()) {
      fail(node, path, "client_credentials and token_exchange need a pre-registered client_id");
    }
  }

  // A YAML value as JSON: quoted scalars stay strings; plain ones become null, booleans or
  // numbers when they read as such.
  static nlohmann::json to_json(const YAML::Node& node) {
    if (node.IsMap()) {
      auto out = nlohmann::json::object();
      for (const auto& e : node) out[e.first.Scalar()] = to_json(e.second);
      return out;
    }
    if (node.IsSequence()) {
      auto out = nlohmann::json::array();
      for (const auto& e : node) out.push_back(to_json(e));
      return out;
    }
    if (!node.IsScalar() || node.IsNull()) return nullptr;
    const auto& text = node.Scalar();
    if (node.Tag() == "!") return text;  // quoted
    if (text == "true" || text == "false") return text == "true";
    if (text == "null" || text == "~") return nullptr;
    const auto number = nlohmann::json::parse(text, nullptr, false);
    if (number.is_number()) return number;
    return text;
  }

  void read_tool_overrides(const YAML::Node& node, const std::string& path,
                           std::vector<tool_override>& out) {
    if (node.IsNull()) return;
    if (!expect_map(node, path)) return;
    for (const auto& entry : node) {
      tool_override o;
      o.exposed = entry.first.Scalar();
      const auto child = join(path, o.exposed);
      const auto mark = entry.first.Mark();
      o.position = {file_, mark.line + 1, mark.column + 1};
      if (!expect_map(entry.second, child)) continue;
      for_each_key(entry.second, child,
                   {"name", "title", "description", "annotations", "arguments", "timeout", "retry"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& field) {
                     if (k == "timeout") {
                       if (auto d = duration_value(value, field)) o.timeout = *d;
                     } else if (k == "retry") {
                       const auto v = string_value(value, field);
                       if (v && (*v == "true" || *v == "false")) {
                         o.retry = *v == "true";
                       } else if (v) {
                         fail(value, field, "retry must be true or false");
                       }
                     } else if (k == "name") {
                       if (auto v = string_value(value, field)) {
                         if (v->empty() || v->size() > 128 ||
                             !std::all_of(v->begin(), v->end(), [](char c) { return is_name_char(c) || c == '.'; })) {
                           fail(value, field, "name must be 1-128 characters from [A-Za-z0-9_.-]");
                         }
                         o.name = std::move(*v);
                       }
                     } else if (k == "title") {
                       if (auto v = string_value(value, field)) o.title = std::move(*v);
                     } else if (k == "description") {
                       if (auto v = string_value(value, field)) o.description = std::move(*v);
                     } else if (k == "annotations") {
                       if (expect_map(value, field)) o.annotations = to_json(value);
                     } else {
                       read_argument_constraints(value, field, o.arguments);
                     }
                   });
      out.push_back(std::move(o));
    }
  }

  void read_argument_constraints(const YAML::Node& node, const std::string& path,
                                 std::map<std::string, nlohmann::json>& out) {
    if (!expect_map(node, path)) return;
    for (const auto& entry : node) {
      const auto arg = entry.first.Scalar();
      const auto child = join(path, arg);
      if (!expect_map(entry.second, child)) continue;
      auto constraint = nlohmann::json::object();
      for_each_key(entry.second, child,
                   {"enum", "const", "pattern", "minimum", "maximum", "maxLength", "default", "hidden", "value"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& field) {
                     auto v = to_json(value);
                     if (k == "enum" && (!v.is_array() || v.empty())) {
                       fail(value, field, "enum must be a non-empty list");
                     } else if ((k == "minimum" || k == "maximum") && !v.is_number()) {
                       fail(value, field, k + " must be a number");
                     } else if (k == "maxLength" && !v.is_number_unsigned()) {
                       fail(value, field, "maxLength must be a whole number");
                     } else if (k == "pattern") {
                       if (!v.is_string()) fail(value, field, "pattern must be a string (a regular expression)");
                     } else if (k == "hidden" && !v.is_boolean()) {
                       fail(value, field, "hidden must be true or false");
                     }
                     constraint[k] = std::move(v);
                   });
      if (constraint.value("hidden", false) && !constraint.contains("value")) {
        fail(entry.first, child, "a hidden argument needs the `value` manifold sends for it");
      }
      out[arg] = std::move(constraint);
    }
  }

  void read_pinning(const YAML::Node& node, const std::string& path, pinning_config& out) {
    if (!expect_map(node, path)) return;
    out.lock = "manifold.lock.json";
    for_each_key(node, path, {"lock", "on_change"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   const auto v = string_value(value, child);
                   if (!v) return;
                   if (k == "lock") {
                     if (v->empty()) fail(value, child, "lock must name a file");
                     out.lock = *v;
                   } else if (*v == "hide" || *v == "warn") {
                     out.hide = *v == "hide";
                   } else {
                     fail(value, child, "on_change must be `hide` or `warn`");
                   }
                 });
    // Relative to the config file, so the pair can move together.
    if (!out.lock.empty() && out.lock.front() != '/') {
      const auto slash = file_.rfind('/');
      if (slash != std::string::npos) out.lock = file_.substr(0, slash + 1) + out.lock;
    }
  }

  // ---- Identity and access: auth, roles, audit, identity_signing_key (read by access/) ----

  // A reference to a role or group checked once the whole document is read (either may be
  // declared after its use).
  struct deferred_name {
    YAML::Node node;
    std::string path;
    std::string name;
  };

  static bool is_hex(std::string_view text) {
    return std::all_of(text.begin(), text.end(),
                       [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
  }

  static bool is_token_char(char c) {
    return is_name_char(c) || c == '!' || c == '#' || c == '$' || c == '%' || c == '&' ||
           c == '\'' || c == '*' || c == '+' || c == '.' || c == '^' || c == '`' || c == '|' ||
           c == '~';
  }

  // http(s)://host[...], without a fragment; plain http only toward a loopback host.
  static bool is_web_url(std::string_view url) {
    if (url.find('#') != std::string_view::npos) return false;
    if (url.rfind("https://", 0) == 0) return url.size() > 8;
    for (const auto* loopback : {"http://127.0.0.1", "http://localhost", "http://[::1]"}) {
      const std::string_view prefix(loopback);
      if (url.rfind(prefix, 0) == 0 &&
          (url.size() == prefix.size() || url[prefix.size()] == ':' || url[prefix.size()] == '/')) {
        return true;
      }
    }
    return false;
  }

  std::string beside_config_file(std::string path) const {
    if (path.empty() || path.front() == '/') return path;
    const auto slash = file_.rfind('/');
    return slash == std::string::npos ? path : file_.substr(0, slash + 1) + path;
  }

  std::optional<bool> bool_value(const YAML::Node& node, const std::string& path) {
    const auto v = string_value(node, path);
    if (v && (*v == "true" || *v == "false")) return *v == "true";
    if (v) fail(node, path, "expected true or false");
    return std::nullopt;
  }

  std::optional<std::chrono::milliseconds> duration_or_zero(const YAML::Node& node,
                                                            const std::string& path) {
    const auto text = string_value(node, path);
    if (!text) return std::nullopt;
    const auto d = parse_duration(*text);
    if (!d) fail(node, path, "expected a duration such as 0s, 30s or 2m, not \"" + *text + "\"");
    return d;
  }

  // Reads a list of role names and remembers each for the check against `roles:`.
  void read_role_names(const YAML::Node& node, const std::string& path, std::vector<std::string>& out) {
    if (!node.IsSequence()) {
      fail(node, path, "expected a list of role names");
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto child = path + "[" + std::to_string(i) + "]";
      if (auto v = string_value(node[i], child)) {
        role_refs_.push_back({node[i], child, *v});
        out.push_back(std::move(*v));
      }
    }
  }

  void read_forward_identity(const YAML::Node& node, const std::string& path, forward_identity_mode& out) {
    const auto v = string_value(node, path);
    if (!v) return;
    if (*v == "none") {
      out = forward_identity_mode::none;
      return;
    }
    if (*v != "header" && *v != "meta") {
      fail(node, path, "forward_identity must be none, header or meta");
      return;
    }
    out = *v == "header" ? forward_identity_mode::header : forward_identity_mode::meta;
    identity_refs_.push_back({node, path, *v});
  }

  void read_auth(const YAML::Node& node, const std::string& path, auth_config& out) {
    if (!expect_map(node, path)) return;
    for_each_key(node, path,
                 {"api_keys", "api_key_header", "jwt", "resource", "stdio_identity", "public_endpoints",
                  "anonymous_roles", "admin_roles"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   if (k == "api_keys") {
                     read_api_keys(value, child, out.api_keys);
                   } else if (k == "api_key_header") {
                     auto v = string_value(value, child);
                     if (v && (v->empty() || !std::all_of(v->begin(), v->end(), is_token_char))) {
                       fail(value, child, "api_key_header must be an HTTP header name, such as X-API-Key");
                     } else if (v) {
                       out.api_key_header = std::move(*v);
                     }
                   } else if (k == "jwt") {
                     jwt_node_ = value;
                     read_jwt(value, child, out.jwt);
                   } else if (k == "resource") {
                     read_resource(value, child, out.resource);
                   } else if (k == "stdio_identity") {
                     read_identity(value, child, out.stdio_identity);
                   } else if (k == "public_endpoints") {
                     out.public_endpoints.clear();
                     read_public_endpoints(value, child, out.public_endpoints);
                   } else if (k == "admin_roles") {
                     read_role_names(value, child, out.admin_roles);
                   } else {
                     read_role_names(value, child, out.anonymous_roles);
                   }
                 });
  }

  void read_public_endpoints(const YAML::Node& node, const std::string& path, std::vector<std::string>& out) {
    read_string_list(node, path, out);
    for (std::size_t i = 0; node.IsSequence() && i < node.size() && i < out.size(); ++i) {
      if (out[i] != "/healthz" && out[i] != "/readyz" && out[i] != "/metrics") {
        fail(node[i], path + "[" + std::to_string(i) + "]",
             "public_endpoints may list /readyz and /metrics (/healthz is always open)");
      }
    }
  }

  void read_api_keys(const YAML::Node& node, const std::string& path, std::vector<api_key_config>& out) {
    if (!node.IsSequence()) {
      fail(node, path, "expected a list of {principal, hash, roles}");
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto item = node[i];
      const auto child = path + "[" + std::to_string(i) + "]";
      if (!expect_map(item, child)) continue;
      api_key_config key;
      const auto mark = item.Mark();
      key.position = {file_, mark.line + 1, mark.column + 1};
      for_each_key(item, child, {"principal", "hash", "roles"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& field) {
                     if (k == "roles") {
                       read_role_names(value, field, key.roles);
                       return;
                     }
                     auto v = string_value(value, field);
                     if (!v) return;
                     if (k == "principal") {
                       if (v->empty()) fail(value, field, "principal must not be empty");
                       key.principal = std::move(*v);
                     } else {
                       const bool ok = v->size() == 7 + 32 + 1 + 64 && v->rfind("sha256$", 0) == 0 &&
                                       (*v)[39] == '$' && is_hex(std::string_view(*v).substr(7, 32)) &&
                                       is_hex(std::string_view(*v).substr(40));
                       if (!ok) {
                         fail(value, field,
                              "hash must be a `manifold key hash` line: sha256$<32 hex>$<64 hex> "
                              "(never the key itself)");
                       }
                       key.hash = std::move(*v);
                     }
                   });
      if (key.principal.empty() || key.hash.empty()) {
        fail(item, child, "an API key needs `principal` and `hash`");
        continue;
      }
      out.push_back(std::move(key));
    }
  }

  void read_jwt(const YAML::Node& node, const std::string& path, jwt_config& out) {
    if (!expect_map(node, path)) return;
    bool algorithms_set = false;
    for_each_key(
        node, path,
        {"issuer", "audience", "jwks_file", "jwks_url", "hs256_secret", "algorithms", "leeway", "roles_claim",
         "principal_claim", "jwks_refresh_timeout", "jwks_refresh_interval", "jwks_min_refresh_interval"},
        [&](const std::string& k, const YAML::Node& value, const std::string& child) {
          if (k == "audience") {
            if (value.IsSequence()) {
              read_string_list(value, child, out.audiences);
            } else if (auto v = string_value(value, child)) {
              out.audiences.push_back(std::move(*v));
            }
          } else if (k == "algorithms") {
            algorithms_set = true;
            out.algorithms.clear();
            read_algorithms(value, child, out.algorithms);
          } else if (k == "leeway") {
            if (auto d = duration_or_zero(value, child)) out.leeway = *d;
          } else if (k == "jwks_refresh_timeout") {
            if (auto d = duration_value(value, child)) out.jwks_refresh_timeout = *d;
          } else if (k == "jwks_refresh_interval") {
            if (auto d = duration_value(value, child)) out.jwks_refresh_interval = *d;
          } else if (k == "jwks_min_refresh_interval") {
            if (auto d = duration_or_zero(value, child)) out.jwks_min_refresh_interval = *d;
          } else {
            read_jwt_string(k, value, child, out);
          }
        });
    if (out.issuer.empty()) {
      fail(node, path, "jwt needs `issuer` (the `iss` every token must carry)");
      return;
    }
    if (!out.hs256_secret.empty() && !algorithms_set) out.algorithms.emplace_back("HS256");
    const bool wants_hmac = std::any_of(out.algorithms.begin(), out.algorithms.end(),
                                        [](const std::string& a) { return a.rfind("HS", 0) == 0; });
    const bool wants_keys = std::any_of(out.algorithms.begin(), out.algorithms.end(),
                                        [](const std::string& a) { return a.rfind("HS", 0) != 0; });
    if (wants_hmac && out.hs256_secret.empty()) {
      fail(node, path, "HS* algorithms need `hs256_secret`");
    }
    if (wants_keys && out.jwks_file.empty() && out.jwks_url.empty() && algorithms_set) {
      fail(node, path, "RS/PS/ES/EdDSA algorithms need `jwks_file` or `jwks_url`");
    }
    if (out.hs256_secret.empty() && out.jwks_file.empty() && out.jwks_url.empty()) {
      fail(node, path, "jwt needs keys: `jwks_url`, `jwks_file` or `hs256_secret`");
    }
  }

  void read_jwt_string(const std::string& k, const YAML::Node& value, const std::string& child, jwt_config& out) {
    auto v = string_value(value, child);
    if (!v) return;
    if (k == "issuer") {
      if (v->empty()) fail(value, child, "issuer must not be empty");
      out.issuer = std::move(*v);
    } else if (k == "jwks_file") {
      out.jwks_file = beside_config_file(std::move(*v));
    } else if (k == "jwks_url") {
      if (!is_web_url(*v)) fail(value, child, "jwks_url must be an https URL (http only on loopback)");
      out.jwks_url = std::move(*v);
    } else if (k == "hs256_secret") {
      if (v->size() < 32) fail(value, child, "hs256_secret must be at least 32 bytes (RFC 7518 3.2); set it from ${ENV}");
      out.hs256_secret = std::move(*v);
    } else {
      if (v->empty() || v->front() == '.' || v->back() == '.' || v->find("..") != std::string::npos) {
        fail(value, child, "expected a claim name or a dot path such as realm_access.roles");
      }
      (k == "roles_claim" ? out.roles_claim : out.principal_claim) = std::move(*v);
    }
  }

  void read_algorithms(const YAML::Node& node, const std::string& path, std::vector<std::string>& out) {
    read_string_list(node, path, out);
    static const std::set<std::string> known{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256",
                                             "ES384", "ES512", "EdDSA", "HS256", "HS384", "HS512"};
    for (std::size_t i = 0; node.IsSequence() && i < node.size() && i < out.size(); ++i) {
      const auto child = path + "[" + std::to_string(i) + "]";
      if (out[i] == "none" || out[i] == "None" || out[i] == "NONE") {
        fail(node[i], child, "alg `none` (unsigned tokens) is never accepted");
      } else if (known.count(out[i]) == 0) {
        fail(node[i], child, "unknown algorithm `" + out[i] + "` (RS256/384/512, PS256/384/512, ES256/384/512, "
                             "EdDSA, HS256/384/512)");
      }
    }
    if (node.IsSequence() && out.empty()) fail(node, path, "algorithms must not be empty");
  }

  void read_resource(const YAML::Node& node, const std::string& path, resource_config& out) {
    if (!expect_map(node, path)) return;
    for_each_key(node, path, {"url", "authorization_servers", "scopes_supported", "required_scopes"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   if (k == "url") {
                     auto v = string_value(value, child);
                     if (v && !is_web_url(*v)) {
                       fail(value, child, "url must be this server's https URL, without a fragment "
                                          "(http only on loopback)");
                     }
                     if (v) out.url = std::move(*v);
                   } else if (k == "authorization_servers") {
                     read_string_list(value, child, out.authorization_servers);
                     for (std::size_t i = 0; value.IsSequence() && i < out.authorization_servers.size(); ++i) {
                       if (!is_web_url(out.authorization_servers[i])) {
                         fail(value[i], child + "[" + std::to_string(i) + "]", "expected an https URL (http only on loopback)");
                       }
                     }
                   } else {
                     auto& list = k == "scopes_supported" ? out.scopes_supported : out.required_scopes;
                     read_string_list(value, child, list);
                     for (std::size_t i = 0; value.IsSequence() && i < list.size(); ++i) {
                       if (list[i].empty() || list[i].find_first_of(" \"\\") != std::string::npos) {
                         fail(value[i], child + "[" + std::to_string(i) + "]", "a scope has no spaces, quotes or backslashes");
                       }
                     }
                   }
                 });
  }

  void read_identity(const YAML::Node& node, const std::string& path, identity_config& out) {
    if (!expect_map(node, path)) return;
    for_each_key(node, path, {"principal", "roles"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   if (k == "roles") {
                     read_role_names(value, child, out.roles);
                   } else if (auto v = string_value(value, child)) {
                     if (v->empty()) fail(value, child, "principal must not be empty");
                     out.principal = std::move(*v);
                   }
                 });
    if (out.principal.empty()) fail(node, path, "stdio_identity needs `principal`");
  }

  void read_roles(const YAML::Node& node, const std::string& path, std::vector<role_config>& out) {
    if (node.IsNull()) return;
    if (!expect_map(node, path)) return;
    for (const auto& entry : node) {
      role_config role;
      role.name = entry.first.Scalar();
      const auto child = join(path, role.name);
      const auto mark = entry.first.Mark();
      role.position = {file_, mark.line + 1, mark.column + 1};
      if (role.name.empty() || role.name.size() > 128 ||
          role.name.find_first_of(" \t\"\\,") != std::string::npos) {
        fail(entry.first, child, "a role name is 1-128 characters without spaces, commas, quotes or backslashes");
        continue;
      }
      if (entry.second.IsNull()) {
        out.push_back(std::move(role));  // a role that grants nothing
        continue;
      }
      if (!expect_map(entry.second, child)) continue;
      read_role(entry.second, child, role);
      out.push_back(std::move(role));
    }
  }

  void read_role(const YAML::Node& node, const std::string& path, role_config& role) {
    for_each_key(node, path, {"tools", "prompts", "resources", "groups", "rules", "limits"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   if (k == "tools") {
                     read_role_filter(value, child, role.tools);
                   } else if (k == "prompts") {
                     read_role_filter(value, child, role.prompts);
                   } else if (k == "resources") {
                     read_role_filter(value, child, role.resources);
                   } else if (k == "groups") {
                     read_string_list(value, child, role.groups);
                     for (std::size_t i = 0; value.IsSequence() && i < role.groups.size(); ++i) {
                       group_refs_.push_back({value[i], child + "[" + std::to_string(i) + "]", role.groups[i]});
                     }
                   } else if (k == "rules") {
                     read_rules(value, child, role.rules);
                   } else {
                     read_role_limits(value, child, role.limits);
                   }
                 });
  }

  // A list (the allow globs) or {allow, deny}.
  void read_role_filter(const YAML::Node& node, const std::string& path, role_filter_config& out) {
    if (node.IsSequence()) {
      read_string_list(node, path, out.allow);
      return;
    }
    if (!node.IsMap()) {
      fail(node, path, "expected a list of globs, or {allow: [...], deny: [...]}");
      return;
    }
    for_each_key(node, path, {"allow", "deny"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   read_string_list(value, child, k == "allow" ? out.allow : out.deny);
                 });
  }

  void read_rules(const YAML::Node& node, const std::string& path, std::vector<call_rule_config>& out) {
    if (!node.IsSequence()) {
      fail(node, path, "expected a list of rules ({name, tools, when} or {name, tools, deny: true})");
      return;
    }
    std::set<std::string> names;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto item = node[i];
      const auto child = path + "[" + std::to_string(i) + "]";
      if (!expect_map(item, child)) continue;
      call_rule_config rule;
      const auto mark = item.Mark();
      rule.position = {file_, mark.line + 1, mark.column + 1};
      read_rule(item, child, rule);
      if (rule.name.empty() || rule.tools.empty()) {
        fail(item, child, "a rule needs `name` and `tools`");
        continue;
      }
      if (!names.insert(rule.name).second) {
        fail(item["name"], child + ".name", "another rule of this role has this name");
        continue;
      }
      if (!rule.deny && rule.when.empty()) {
        fail(item, child, "a rule needs `when` (argument constraints) or `deny: true`");
        continue;
      }
      out.push_back(std::move(rule));
    }
  }

  void read_rule(const YAML::Node& node, const std::string& path, call_rule_config& rule) {
    for_each_key(node, path, {"name", "tools", "when", "deny"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   if (k == "name") {
                     auto v = string_value(value, child);
                     if (v && (v->empty() || !std::all_of(v->begin(), v->end(),
                                                          [](char c) { return is_name_char(c) || c == '.'; }))) {
                       fail(value, child, "a rule name uses only [A-Za-z0-9_.-]");
                     } else if (v) {
                       rule.name = std::move(*v);
                     }
                   } else if (k == "tools") {
                     read_string_list(value, child, rule.tools);
                   } else if (k == "deny") {
                     if (auto b = bool_value(value, child)) rule.deny = *b;
                   } else if (expect_map(value, child)) {
                     for (const auto& arg : value) {
                       const auto name = arg.first.Scalar();
                       if (auto c = rule_constraint(arg.second, join(child, name))) rule.when[name] = std::move(*c);
                     }
                   }
                 });
  }

  // One argument's JSON Schema fragment in a rule's `when`.
  std::optional<nlohmann::json> rule_constraint(const YAML::Node& node, const std::string& path) {
    if (!expect_map(node, path)) return std::nullopt;
    const auto before = diagnostics_.size();
    auto out = nlohmann::json::object();
    for_each_key(node, path,
                 {"enum", "const", "pattern", "minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum",
                  "minLength", "maxLength", "type", "optional"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& field) {
                   auto v = to_json(value);
                   if (k == "enum" && (!v.is_array() || v.empty())) {
                     fail(value, field, "enum must be a non-empty list");
                   } else if ((k == "minimum" || k == "maximum" || k == "exclusiveMinimum" ||
                               k == "exclusiveMaximum") && !v.is_number()) {
                     fail(value, field, k + " must be a number");
                   } else if ((k == "minLength" || k == "maxLength") && !v.is_number_unsigned()) {
                     fail(value, field, k + " must be a whole number");
                   } else if (k == "optional" && !v.is_boolean()) {
                     fail(value, field, "optional must be true or false");
                   } else if (k == "type") {
                     static const std::set<std::string> types{"string", "number", "integer", "boolean",
                                                              "array", "object", "null"};
                     if (!v.is_string() || types.count(v.get<std::string>()) == 0) {
                       fail(value, field, "type must be string, number, integer, boolean, array, object or null");
                     }
                   } else if (k == "pattern") {
                     check_regex(value, field, v);
                   }
                   out[k] = std::move(v);
                 });
    if (diagnostics_.size() != before) return std::nullopt;
    return out;
  }

  void check_regex(const YAML::Node& node, const std::string& path, const nlohmann::json& v) {
    if (!v.is_string()) {
      fail(node, path, "expected a string (an ECMAScript regular expression)");
      return;
    }
    try {
      const std::regex compiled(v.get<std::string>(), std::regex::ECMAScript);
    } catch (const std::regex_error&) {
      fail(node, path, "not a valid ECMAScript regular expression");
    }
  }

  void read_rate(const YAML::Node& node, const std::string& path, rate_limit_config& out) {
    const auto text = string_value(node, path);
    if (!text) return;
    const auto r = parse_rate(*text);
    if (!r) {
      fail(node, path, "expected a rate such as 10/s, 600/m or 5000/h, not \"" + *text + "\"");
      return;
    }
    out.tokens = r->count;
    out.period = r->period;
  }

  // `rate` + `burst` keys of a map (role limits, limits.global); burst defaults to the count.
  void read_bucket_key(const std::string& k, const YAML::Node& value, const std::string& child,
                       rate_limit_config& out) {
    if (k.find("burst") != std::string::npos) {
      if (auto n = count_value(value, child, 1)) out.burst = *n;
    } else {
      read_rate(value, child, out);
    }
  }

  void finish_bucket(const YAML::Node& node, const std::string& path, rate_limit_config& out) {
    if (out.burst != 0 && !out.limited()) fail(node, path, "a burst needs a rate");
    if (out.burst == 0) out.burst = out.tokens;
  }

  void read_role_limits(const YAML::Node& node, const std::string& path, role_limits_config& out) {
    if (!expect_map(node, path)) return;
    for_each_key(node, path, {"rate", "burst", "per_tool_rate", "per_tool_burst", "concurrency"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   if (k == "concurrency") {
                     if (auto n = count_value(value, child, 1)) out.concurrency = *n;
                   } else {
                     read_bucket_key(k, value, child, k.rfind("per_tool", 0) == 0 ? out.per_tool : out.rate);
                   }
                 });
    finish_bucket(node, path, out.rate);
    finish_bucket(node, path, out.per_tool);
  }

  void read_global_limit(const YAML::Node& node, const std::string& path, rate_limit_config& out) {
    if (!expect_map(node, path)) return;
    for_each_key(node, path, {"rate", "burst"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   read_bucket_key(k, value, child, out);
                 });
    if (!out.limited()) fail(node, path, "limits.global needs `rate`");
    finish_bucket(node, path, out);
  }

  void read_audit(const YAML::Node& node, const std::string& path, audit_config& out) {
    if (!expect_map(node, path)) return;
    for_each_key(node, path, {"file", "stderr", "arguments", "redact"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   if (k == "stderr") {
                     if (auto b = bool_value(value, child)) out.to_stderr = *b;
                   } else if (k == "redact") {
                     read_string_list(value, child, out.redact);
                     for (std::size_t i = 0; value.IsSequence() && i < out.redact.size(); ++i) {
                       check_regex(value[i], child + "[" + std::to_string(i) + "]", out.redact[i]);
                     }
                   } else if (auto v = string_value(value, child)) {
                     if (k == "file") {
                       if (v->empty()) fail(value, child, "file must name a file");
                       out.file = beside_config_file(std::move(*v));
                     } else if (*v == "none" || *v == "keys" || *v == "redacted" || *v == "full") {
                       out.arguments = *v == "none"   ? audit_arguments::none
                                       : *v == "keys" ? audit_arguments::keys
                                       : *v == "full" ? audit_arguments::full
                                                      : audit_arguments::redacted;
                     } else {
                       fail(value, child, "arguments must be none, keys, redacted or full");
                     }
                   }
                 });
  }

  void read_signing_key(const YAML::Node& node, const std::string& path, std::string& out) {
    auto v = string_value(node, path);
    if (!v) return;
    if (v->size() < 32) fail(node, path, "identity_signing_key must be at least 32 bytes; set it from ${ENV}");
    out = std::move(*v);
  }

  // Checks that need the whole document: names used before (or without) their declaration,
  // and defaults taken from another section.
  void check_access(const YAML::Node& root, config& out) {
    std::set<std::string> roles;
    for (const auto& r : out.roles) {
      if (!roles.insert(r.name).second) fail(root["roles"][r.name], "roles." + r.name, "duplicate role");
    }
    for (const auto& ref : role_refs_) {
      if (roles.count(ref.name) == 0) {
        fail(ref.node, ref.path, "unknown role `" + ref.name + "` (declare it under `roles:`)");
      }
    }
    std::set<std::string> groups;
    for (const auto& g : out.groups) groups.insert(g.name);
    for (const auto& ref : group_refs_) {
      if (groups.count(ref.name) == 0) {
        fail(ref.node, ref.path, "unknown group `" + ref.name + "` (declare it under `groups:`)");
      }
    }
    // A token exchanged for the caller belongs to that caller: the upstream instance that
    // carries it serves nobody else.
    for (const auto& ref : token_exchange_refs_) {
      if (!out.auth.jwt.configured()) fail(ref.node, ref.path, "token_exchange exchanges the caller's JWT: configure auth.jwt");
      for (auto& s : out.servers) {
        if (s.name != ref.name) continue;
        if (s.isolation_set && s.isolation != isolation_mode::principal) {
          fail(ref.node, ref.path, "token_exchange needs `isolation: principal` (one upstream instance per caller)");
        }
        s.isolation = isolation_mode::principal;
        s.isolation_set = true;
      }
    }
    for (const auto& ref : identity_refs_) {
      if (out.identity_signing_key.empty()) {
        fail(ref.node, ref.path, "forward_identity needs the top-level `identity_signing_key`");
      }
    }
    auto& jwt = out.auth.jwt;
    if (jwt.configured() && jwt.audiences.empty()) {
      if (out.auth.resource.url.empty()) {
        fail(jwt_node_, "auth.jwt", "jwt needs `audience`, or `auth.resource.url` to use as the audience");
      } else {
        jwt.audiences.push_back(out.auth.resource.url);
      }
    }
  }

  void read_groups(const YAML::Node& node, const std::string& path, std::vector<group_config>& out) {
    if (node.IsNull()) return;
    if (!expect_map(node, path)) return;
    for (const auto& entry : node) {
      group_config g;
      g.name = entry.first.Scalar();
      const auto child = join(path, g.name);
      if (g.name.empty() || !std::all_of(g.name.begin(), g.name.end(), is_name_char)) {
        fail(entry.first, child, "a group name is part of a URL path: use only [A-Za-z0-9_-]");
        continue;
      }
      if (!expect_map(entry.second, child)) continue;
      for_each_key(entry.second, child, {"include", "exclude"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& field) {
                     auto& list = k == "include" ? g.include : g.exclude;
                     list.clear();
                     read_string_list(value, field, list);
                   });
      out.push_back(std::move(g));
    }
  }

  void read_filter(const YAML::Node& node, const std::string& path, entry_filter_config& out) {
    if (!expect_map(node, path)) return;
    for_each_key(node, path, {"allow", "deny"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   auto& list = k == "allow" ? out.allow : out.deny;
                   list.clear();
                   read_string_list(value, child, list);
                 });
  }

  void read_string_list(const YAML::Node& node, const std::string& path,
                        std::vector<std::string>& out) {
    if (!node.IsSequence()) {
      fail(node, path, "expected a list of strings");
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      if (auto v = string_value(node[i], path + "[" + std::to_string(i) + "]")) {
        out.push_back(std::move(*v));
      }
    }
  }

  void read_string_map(const YAML::Node& node, const std::string& path,
                       std::map<std::string, std::string>& out) {
    if (!expect_map(node, path)) return;
    for (const auto& entry : node) {
      const auto key = entry.first.Scalar();
      if (auto v = string_value(entry.second, join(path, key))) out[key] = std::move(*v);
    }
  }

  // `include: [packs/a.yaml, {file: packs/b.yaml, vars: {k: v}}]`, relative to this file.
  void read_includes(const YAML::Node& node, const std::string& path, config& out) {
    if (!node.IsSequence()) {
      fail(node, path, "include is a list of pack files, each a path or {file, vars}");
      return;
    }
    for (std::size_t i = 0; i < node.size(); ++i) {
      read_include(node[i], path + "[" + std::to_string(i) + "]", out);
    }
  }

  void read_include(const YAML::Node& node, const std::string& path, config& out) {
    if (pack_) {
      fail(node, path, "a pack cannot include other files");
      return;
    }
    std::string file;
    std::map<std::string, std::string> given;
    YAML::Node vars_node;
    if (node.IsScalar()) {
      if (auto v = string_value(node, path)) file = std::move(*v);
    } else if (expect_map(node, path)) {
      for_each_key(node, path, {"file", "vars"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "file") {
                       if (auto v = string_value(value, child)) file = std::move(*v);
                     } else {
                       vars_node = value;
                       read_string_map(value, child, given);
                     }
                   });
    }
    if (file.empty()) {
      if (node.IsMap()) fail(node, path, "an include names its `file`");
      return;
    }
    if (file.front() != '/') {
      const auto slash = file_.rfind('/');
      if (slash != std::string::npos) file = file_.substr(0, slash + 1) + file;
    }
    std::ifstream in(file, std::ios::binary);
    if (!in) {
      fail(node, path, "cannot open pack file " + file);
      return;
    }
    std::ostringstream text;
    text << in.rdbuf();
    const auto before = diagnostics_.size();
    const auto root = load_document(text.str(), file, diagnostics_);
    if (diagnostics_.size() != before) return;
    auto values = pack_variables(root, file, given, node, vars_node, path);
    const env_lookup pack_env = [&values, this](const std::string& name) -> std::optional<std::string> {
      if (name.rfind("var:", 0) != 0) return env_(name);
      const auto it = values.find(name.substr(4));
      if (it == values.end()) return std::nullopt;
      return it->second;
    };
    reader pack(file, pack_env);
    pack.pack_ = true;
    for (auto& server : pack.read_pack(root)) out.servers.push_back(std::move(server));
    for (auto& d : pack.diagnostics()) diagnostics_.push_back(std::move(d));
    out.included.push_back(file);
  }

  // The pack's declared `vars:` (name: default, or {default, required, description}) filled
  // from the include site; unknown and missing ones are reported at the include site.
  std::map<std::string, std::string> pack_variables(const YAML::Node& root, const std::string& file,
                                                    const std::map<std::string, std::string>& given,
                                                    const YAML::Node& site, const YAML::Node& vars_node,
                                                    const std::string& path) {
    std::map<std::string, std::string> values;
    std::set<std::string> required;
    detail::yaml_context ctx(file, env_, diagnostics_);
    const auto declared = root.IsMap() ? root["vars"] : YAML::Node();
    if (declared.IsDefined() && ctx.expect_map(declared, "vars")) {
      for (const auto& entry : declared) {
        const auto name = entry.first.Scalar();
        const auto child = "vars." + name;
        if (entry.second.IsMap()) {
          ctx.for_each_key(entry.second, child, {"default", "required", "description"},
                           [&](const std::string& k, const YAML::Node& value, const std::string& field) {
                             if (k == "default") {
                               if (auto v = ctx.string_value(value, field)) values[name] = *v;
                             } else if (k == "required") {
                               if (ctx.bool_value(value, field).value_or(false)) required.insert(name);
                             }
                           });
          if (!entry.second["default"] && !entry.second["required"]) required.insert(name);
        } else if (auto v = ctx.string_value(entry.second, child)) {
          values[name] = *v;
        }
      }
    }
    for (const auto& [name, value] : given) {
      if (!declared.IsDefined() || !declared.IsMap() || !declared[name]) {
        fail(vars_node, path + ".vars." + name, "pack " + file + " declares no variable `" + name + "`");
        continue;
      }
      values[name] = value;
      required.erase(name);
    }
    for (const auto& name : required) {
      fail(site, path, "pack " + file + " needs the variable `" + name + "` (under vars:)");
    }
    return values;
  }

  void check_unique_servers(const std::vector<server_config>& servers) {
    std::map<std::string, const server_config*> seen;
    for (const auto& s : servers) {
      const auto [it, fresh] = seen.emplace(s.name, &s);
      if (fresh) continue;
      const auto& first = it->second->position;
      diagnostics_.push_back({s.position, "servers." + s.name,
                              "duplicate server name (also declared at " + first.file + ":" +
                                  std::to_string(first.line) + ":" + std::to_string(first.column) + ")"});
    }
  }

  std::string file_;
  const env_lookup& env_;
  std::vector<diagnostic> diagnostics_;
  // Identity and access: names checked in check_access once everything is read.
  std::vector<deferred_name> role_refs_;
  std::vector<deferred_name> group_refs_;
  std::vector<deferred_name> identity_refs_;
  std::vector<deferred_name> token_exchange_refs_;  // name: the server
  YAML::Node jwt_node_;
  bool pack_ = false;  // reading an included pack: no further includes
};

}  // namespace

env_lookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());  // NOLINT(concurrency-mt-unsafe): read at load
    if (value == nullptr) return std::nullopt;
    return std::string(value);
  };
}

namespace {

// Measures what a document expands to without building anything: an alias (*name) repeats
// its anchored node, and a few hundred bytes of nested aliases expand to gigabytes (a "billion
// laughs"). Anchors are useful (a preview tool and its mutation share their params), so they
// are allowed as long as the document, expanded, stays under a node bound.
class expansion_meter final : public YAML::EventHandler {
 public:
  static constexpr std::uint64_t max_nodes = 200'000;

  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override { leaf(mark, anchor, 1); }
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    const auto it = sizes_.find(anchor);
    leaf(mark, 0, it == sizes_.end() ? 1 : it->second);
  }
  void OnScalar(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                const std::string&) override {
    leaf(mark, anchor, 1);
  }
  void OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    open_.push_back({anchor, 1, mark});
  }
  void OnSequenceEnd() override { close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    open_.push_back({anchor, 1, mark});
  }
  void OnMapEnd() override { close(); }

  // Where the expansion first passed the bound, if it did.
  [[nodiscard]] const std::optional<YAML::Mark>& over() const { return over_; }

 private:
  struct open_node {
    YAML::anchor_t anchor;
    std::uint64_t size;
    YAML::Mark mark;
  };

  void leaf(const YAML::Mark& mark, YAML::anchor_t anchor, std::uint64_t size) {
    if (anchor != 0) sizes_[anchor] = size;
    add(mark, size);
  }
  void close() {
    if (open_.empty()) return;
    const auto done = open_.back();
    open_.pop_back();
    if (done.anchor != 0) sizes_[done.anchor] = done.size;
    add(done.mark, done.size);
  }
  void add(const YAML::Mark& mark, std::uint64_t size) {
    auto& total = open_.empty() ? total_ : open_.back().size;
    total = std::min(total + size, max_nodes + 1);  // saturates: never overflows
    if (total > max_nodes && !over_) over_ = mark;
  }

  std::map<YAML::anchor_t, std::uint64_t> sizes_;
  std::vector<open_node> open_;
  std::uint64_t total_ = 0;
  std::optional<YAML::Mark> over_;
};

// Reads one YAML document for a config, a pack or a faults file. Refused, with positions:
// text that is not one document (yaml-cpp 0.7 can report documents forever without reading
// on, e.g. after a stray top-level `,`) and aliases that would expand past the node bound.
YAML::Node load_document(const std::string& text, const std::string& file,
                         std::vector<diagnostic>& diagnostics) {
  const auto fail = [&](const YAML::Mark& mark, std::string message) {
    diagnostics.push_back({{file, mark.line + 1, mark.column + 1}, "", std::move(message)});
  };
  try {
    std::istringstream scan{text};
    YAML::Parser parser(scan);
    expansion_meter meter;
    constexpr int max_documents = 8;
    int documents = 0;
    while (documents < max_documents && parser.HandleNextDocument(meter)) {
      ++documents;
      if (meter.over()) break;
    }
    if (const auto& at = meter.over()) {
      fail(*at, "YAML aliases here expand the document past " +
                    std::to_string(expansion_meter::max_nodes) + " nodes; repeat less");
      return {};
    }
    if (documents == max_documents) {
      fail(YAML::Mark(), "the text is not one YAML document (a stray `,`, `]` or `}` at the top level?)");
      return {};
    }
    return YAML::Load(text);
  } catch (const YAML::Exception& e) {
    fail(e.mark, "YAML syntax error: " + e.msg);
    return {};
  }
}

}  // namespace

config parse_config(std::string_view text, const std::string& source_name,
                    const env_lookup& env) {
  reader r(source_name, env);
  std::vector<diagnostic> failed;
  const auto root = load_document(std::string(text), source_name, failed);
  if (!failed.empty()) throw config_error(std::move(failed));
  auto out = r.read_document(root);
  if (!r.diagnostics().empty()) throw config_error(std::move(r.diagnostics()));
  return out;
}

namespace {

// (Strings were checked for UTF-8 at load; a value set in code is replaced, never thrown on.)
std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::string to_yaml(const config& cfg) {
  std::string out = "# manifold config, imported from " + cfg.source + "\nservers:\n";
  for (const auto& s : cfg.servers) {
    out += "  " + s.name + ":\n";
    if (!s.command.empty()) {
      out += "    command: " + quoted(s.command) + "\n";
      if (!s.args.empty()) {
        out += "    args: [";
        for (std::size_t i = 0; i < s.args.size(); ++i) out += (i ? ", " : "") + quoted(s.args[i]);
        out += "]\n";
      }
      if (!s.cwd.empty()) out += "    cwd: " + quoted(s.cwd) + "\n";
    } else {
      out += "    url: " + quoted(s.url) + "\n";
      const char* transport = s.transport == transport_kind::http        ? "http"
                              : s.transport == transport_kind::sse       ? "sse"
                              : s.transport == transport_kind::websocket ? "websocket"
                                                                         : "auto";
      out += std::string("    transport: ") + transport + "\n";
    }
    for (const auto* map : {&s.env, &s.headers}) {
      if (map->empty()) continue;
      out += map == &s.env ? "    env:\n" : "    headers:\n";
      for (const auto& [k, v] : *map) out += "      " + quoted(k) + ": " + quoted(v) + "\n";
    }
  }
  return out;
}

std::vector<fault_rule> load_faults_file(const std::string& path, const env_lookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error({{{path, 0, 0}, "", "cannot open the faults file"}});
  std::ostringstream text;
  text << in.rdbuf();
  reader r(path, env);
  std::vector<diagnostic> failed;
  const auto root = load_document(text.str(), path, failed);
  if (!failed.empty()) throw config_error(std::move(failed));
  auto out = r.read_faults_document(root);
  if (!r.diagnostics().empty()) throw config_error(std::move(r.diagnostics()));
  return out;
}

config load_config_file(const std::string& path, const env_lookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error({{{path, 0, 0}, "", "cannot open the config file"}});
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path, env);
}

}  // namespace manifold::config
