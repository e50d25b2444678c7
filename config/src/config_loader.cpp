#include "manifold/config/config_loader.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include "exec_reader.hpp"
#include "manifold/config/config_error.hpp"
#include "manifold/config/interpolate.hpp"
#include "manifold/config/units.hpp"

namespace manifold::config {

namespace {

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
                 {"naming", "limits", "http", "servers", "tools", "groups", "pinning", "include"},
                 [&](const std::string& key, const YAML::Node& value, const std::string& path) {
                   if (key == "include") {
                     read_includes(value, path, out);
                   } else if (key == "pinning") {
                     read_pinning(value, path, out.pinning);
                   } else if (key == "groups") {
                     read_groups(value, path, out.groups);
                   } else if (key == "tools") {
                     read_tool_overrides(value, path, out.tools);
                   } else if (key == "naming") {
                     read_naming(value, path, out.naming);
                   } else if (key == "http") {
                     read_http(value, path, out.http);
                   } else if (key == "limits") {
                     read_limits(value, path, out.limits);
                   } else {
                     read_servers(value, path, out.servers);
                   }
                 });
    check_unique_servers(out.servers);
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
    for_each_key(node, path, {"max_message_size", "page_size"},
                 [&](const std::string& key, const YAML::Node& value, const std::string& child) {
                   if (key == "page_size") {
                     const auto text = string_value(value, child);
                     const auto n = text ? parse_size(*text) : std::nullopt;
                     if (!n || text->find_first_not_of("0123456789") != std::string::npos) {
                       if (text) fail(value, child, "expected a whole number of items (0: no paging)");
                       return;
                     }
                     out.page_size = *n;
                     return;
                   }
                   const auto text = string_value(value, child);
                   if (!text) return;
                   const auto size = parse_size(*text);
                   if (!size || *size < 1024) {
                     fail(value, child,
                          "expected a size of at least 1KiB such as 4MiB or 512KiB, not \"" + *text +
                              "\"");
                     return;
                   }
                   out.max_message_bytes = *size;
                 });
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

  void read_http(const YAML::Node& node, const std::string& path, http_config& out) {
    if (!expect_map(node, path)) return;
    for_each_key(
        node, path,
        {"listen", "allowed_origins", "allowed_hosts", "max_header_size", "max_sessions",
         "session_idle_timeout", "read_timeout", "replay_events"},
        [&](const std::string& k, const YAML::Node& value, const std::string& child) {
          if (k == "listen") {
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
        {"command", "args", "env", "cwd", "url", "transport", "headers", "namespace", "timeout",
         "startup_timeout", "isolation", "priority", "tools", "prompts", "resources", "oauth",
         "exec"},
        [&](const std::string& k, const YAML::Node& value, const std::string& child) {
          if (k == "exec") {
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
              if (*v == "shared" || *v == "session") {
                out.isolated = *v == "session";
              } else {
                fail(value, child, "isolation must be `shared` or `session`");
              }
            }
          } else if (k == "oauth") {
            read_oauth(value, child, out.oauth);
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

  // `exec:` a server manifold serves itself (exec_reader.cpp).
  void read_exec_section(const YAML::Node& node, const std::string& path, server_config& out) {
    detail::yaml_context ctx(file_, env_, diagnostics_);
    out.exec.emplace();
    detail::read_exec(ctx, node, path, *out.exec);
  }

  // `oauth: false`, or a map of the oauth_config fields.
  void read_oauth(const YAML::Node& node, const std::string& path, oauth_config& out) {
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
                 {"client_id", "client_secret", "client_metadata_url", "client_name", "redirect_uri",
                  "authorize_timeout"},
                 [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                   if (k == "authorize_timeout") {
                     if (auto d = duration_value(value, child)) out.authorize_timeout = *d;
                     return;
                   }
                   auto v = string_value(value, child);
                   if (!v) return;
                   if (k == "client_id") {
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
      for_each_key(entry.second, child, {"name", "title", "description", "annotations", "arguments"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& field) {
                     if (k == "name") {
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
    YAML::Node root;
    try {
      root = YAML::Load(text.str());
    } catch (const YAML::Exception& e) {
      diagnostics_.push_back({{file, e.mark.line + 1, e.mark.column + 1}, "", "YAML syntax error: " + e.msg});
      return;
    }
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

config parse_config(std::string_view text, const std::string& source_name,
                    const env_lookup& env) {
  reader r(source_name, env);
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    r.fail_at(e.mark, "YAML syntax error: " + e.msg);
    throw config_error(std::move(r.diagnostics()));
  }
  auto out = r.read_document(root);
  if (!r.diagnostics().empty()) throw config_error(std::move(r.diagnostics()));
  return out;
}

namespace {

std::string quoted(const std::string& s) { return nlohmann::json(s).dump(); }

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

config load_config_file(const std::string& path, const env_lookup& env) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw config_error({{{path, 0, 0}, "", "cannot open the config file"}});
  std::ostringstream text;
  text << in.rdbuf();
  return parse_config(text.str(), path, env);
}

}  // namespace manifold::config
