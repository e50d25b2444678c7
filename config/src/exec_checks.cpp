// Load-time checks of an exec server: what can be known before anything runs is refused
// here, with the file, line and column of the declaration.
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <regex>
#include <set>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validator.hpp>

#include "exec_reader.hpp"
#include "manifold/config/argv_template.hpp"
#include "manifold/config/version_range.hpp"

namespace manifold::config::detail {

namespace {

using json = nlohmann::json;

bool identifier(const std::string& s, bool dash) {
  if (s.empty() || s.size() > 64 || (s.front() >= '0' && s.front() <= '9')) return false;
  return std::all_of(s.begin(), s.end(), [dash](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           (dash && c == '-');
  });
}

bool compiles(const std::string& pattern) {
  try {
    std::regex re(pattern, std::regex::ECMAScript);
    return re.mark_count() < 64;
  } catch (const std::regex_error&) {
    return false;
  }
}

// The keyword rules for one scalar or array schema; returns what is wrong, or "".
std::string scalar_rules(const json& s, bool item) {
  static const std::set<std::string> allowed{"type",
                                             "title",
                                             "description",
                                             "enum",
                                             "const",
                                             "pattern",
                                             "minimum",
                                             "maximum",
                                             "minLength",
                                             "maxLength",
                                             "default",
                                             "items",
                                             "minItems",
                                             "maxItems",
                                             "uniqueItems",
                                             "examples",
                                             "exclusiveMinimum",
                                             "exclusiveMaximum",
                                             "properties",
                                             "additionalProperties",
                                             "required"};
  for (const auto& [k, v] : s.items()) {
    if (allowed.count(k) == 0) return "`" + k + "` is not a keyword manifold enforces";
  }
  const auto type = s.find("type");
  if (type == s.end() || !type->is_string()) return "needs a `type`";
  const auto t = type->get<std::string>();
  if (t != "string" && t != "integer" && t != "number" && t != "boolean" && t != "array" &&
      t != "object") {
    return "type must be string, integer, number, boolean, array or object";
  }
  if (item && (t == "array" || t == "object")) return "array items are scalars";
  if (t != "object" &&
      (s.contains("properties") || s.contains("additionalProperties") || s.contains("required"))) {
    return "properties/required belong to object parameters";
  }
  if (t == "string" && !s.contains("maxLength") && !s.contains("enum") && !s.contains("const")) {
    return "a string parameter needs maxLength or enum, so every value is bounded";
  }
  if (const auto m = s.find("maxLength");
      m != s.end() && (!m->is_number_unsigned() || m->get<std::uint64_t>() > (1U << 20))) {
    return "maxLength is a whole number up to 1048576";
  }
  if (const auto p = s.find("pattern");
      p != s.end() && (!p->is_string() || !compiles(p->get<std::string>()))) {
    return "pattern is not a valid (ECMAScript) regular expression";
  }
  if (const auto e = s.find("enum"); e != s.end() && (!e->is_array() || e->empty())) {
    return "enum must be a non-empty list";
  }
  if (t == "array") {
    const auto items = s.find("items");
    if (items == s.end() || !items->is_object()) return "an array parameter needs `items`";
    const auto mi = s.find("maxItems");
    if (mi == s.end() || !mi->is_number_unsigned() || mi->get<std::uint64_t>() > 1000) {
      return "an array parameter needs maxItems (at most 1000)";
    }
    if (auto why = scalar_rules(*items, true); !why.empty()) return "items: " + why;
  }
  return {};
}

// Whether `value` is valid under `schema`, by the same validator manifold uses at call time.
bool valid_under(const json& schema, const json& value) {
  valijson::Schema compiled;
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter schema_doc(schema);
  parser.populateSchema(schema_doc, compiled);
  valijson::Validator validator;
  valijson::adapters::NlohmannJsonAdapter target(value);
  return validator.validate(compiled, target, nullptr);
}

std::string sha256_of(const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return {};
  EVP_MD_CTX* md = EVP_MD_CTX_new();
  EVP_DigestInit_ex(md, EVP_sha256(), nullptr);
  std::array<char, 65536> buf{};
  while (in) {
    in.read(buf.data(), buf.size());
    EVP_DigestUpdate(md, buf.data(), static_cast<std::size_t>(in.gcount()));
  }
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int n = 0;
  EVP_DigestFinal_ex(md, digest.data(), &n);
  EVP_MD_CTX_free(md);
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < n; ++i) {
    out += hex[digest[i] >> 4];
    out += hex[digest[i] & 15];
  }
  return out;
}

// Empty when `binary` is an absolute path to an executable regular file (whose digest is
// `sha256`, when given).
std::string binary_problem(const std::string& binary, const std::string& sha256) {
  if (binary.empty()) return "a CLI tool needs `binary` (on the tool or the server)";
  if (binary.front() != '/') return "binary must be an absolute path, not \"" + binary + "\"";
  struct stat st {};
  if (::stat(binary.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return binary + " does not exist";
  if (::access(binary.c_str(), X_OK) != 0) return binary + " is not executable";
  if (!sha256.empty() && sha256_of(binary) != sha256) {
    return binary + " does not have the declared sha256 (" + sha256 + ")";
  }
  return {};
}

const exec_param* find_param(const exec_tool& tool, const std::string& name) {
  for (const auto& p : tool.params) {
    if (p.name == name) return &p;
  }
  return nullptr;
}

std::string type_of(const exec_param& p) { return p.schema.value("type", std::string()); }

// Slots name declared parameters; an array fills a whole element of its own; objects only
// go to stdin or a JSON body.
std::string template_problem(const exec_tool& tool, const std::string& text, bool argv) {
  const auto parsed = parse_template(text);
  if (!parsed.error.empty()) return parsed.error + " in \"" + text + "\"";
  std::size_t slots = 0;
  bool has_array = false;
  for (const auto& piece : parsed.pieces) {
    if (!piece.slot) continue;
    ++slots;
    const auto* p = find_param(tool, piece.text);
    if (p == nullptr) return "`{{" + piece.text + "}}` names no declared parameter";
    if (type_of(*p) == "object")
      return "object parameter `" + p->name + "` can only be stdin or a JSON body";
    if (type_of(*p) == "array") {
      if (!argv) return "array parameter `" + p->name + "` cannot fill a path or query slot";
      has_array = true;
    }
  }
  if (has_array && slots > 1)
    return "an element with an array slot has no other slot: \"" + text + "\"";
  return {};
}

void check_cli(yaml_context& ctx, const std::string& path, const exec_tool& tool) {
  if (auto why = binary_problem(tool.binary, tool.sha256); !why.empty())
    ctx.fail_at(tool.position, path, why);
  static const std::set<std::string> profiles{"", "kubectl", "helm", "aws", "gh", "argocd", "none"};
  if (profiles.count(tool.profile) == 0) {
    ctx.fail_at(tool.position, path, "profile must be kubectl, helm, aws, gh, argocd or none");
  }
  for (const auto& e : tool.argv) {
    if (auto why = template_problem(tool, e.text, true); !why.empty())
      ctx.fail_at(tool.position, path + ".argv", why);
    if (!e.when.empty() && find_param(tool, e.when) == nullptr) {
      ctx.fail_at(tool.position, path + ".argv",
                  "`when: " + e.when + "` names no declared parameter");
    }
  }
  if (!tool.stdin_param.empty()) {
    const auto* p = find_param(tool, tool.stdin_param);
    if (p == nullptr || (type_of(*p) != "string" && type_of(*p) != "object")) {
      ctx.fail_at(tool.position, path + ".stdin",
                  "stdin names a declared string or object parameter");
    }
  }
  if (tool.check) {
    for (const auto& a : tool.check->args) {
      if (a.find("{{") != std::string::npos)
        ctx.fail_at(tool.position, path + ".check", "a check takes no parameters");
    }
  }
  if (tool.cwd.empty() || tool.cwd.front() != '/' || ::access(tool.cwd.c_str(), X_OK) != 0) {
    ctx.fail_at(tool.position, path + ".cwd",
                "cwd must be an existing absolute directory: " + tool.cwd);
  }
  for (const auto& [name, value] : tool.env.set) {
    if (!identifier(name, false))
      ctx.fail_at(tool.position, path + ".env", "invalid variable name " + name);
  }
}

void check_http(yaml_context& ctx, const std::string& path, const exec_tool& tool,
                const exec_config& exec) {
  if (exec.http.base_url.empty())
    ctx.fail_at(tool.position, path, "an http tool needs the server's `http.base_url`");
  if (auto why = template_problem(tool, tool.http.path, false); !why.empty())
    ctx.fail_at(tool.position, path + ".http.path", why);
  for (const auto& [name, value] : tool.http.query) {
    if (auto why = template_problem(tool, value, false); !why.empty())
      ctx.fail_at(tool.position, path + ".http.query." + name, why);
  }
}

void check_preview(yaml_context& ctx, const std::string& path, const exec_tool& tool,
                   const exec_config& exec) {
  const auto it = std::find_if(exec.tools.begin(), exec.tools.end(),
                               [&](const exec_tool& t) { return t.name == tool.preview; });
  if (it == exec.tools.end() || it->name == tool.name) {
    ctx.fail_at(tool.position, path + ".preview", "preview names another tool of this server");
    return;
  }
  if (tool.kind != exec_kind::cli || it->kind != exec_kind::cli) {
    ctx.fail_at(tool.position, path + ".preview",
                "previews and plans bind CLI tools (argv and stdin)");
    return;
  }
  for (const auto& p : tool.params) {
    const auto* q = find_param(*it, p.name);
    if (q == nullptr || !(*q == p)) {
      ctx.fail_at(tool.position, path + ".preview",
                  "parameter `" + p.name + "` must be declared identically on preview tool `" +
                      it->name + "`, so that its arguments describe this tool's run exactly");
    }
  }
}

}  // namespace

void check_param_schema(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                        const exec_param& param) {
  if (!identifier(param.name, false) || param.name == "plan_id") {
    ctx.fail(node, path, "a parameter name uses [A-Za-z0-9_] (and plan_id is reserved)");
    return;
  }
  if (auto why = scalar_rules(param.schema, false); !why.empty()) {
    ctx.fail(node, path, why);
    return;
  }
  try {
    if (const auto d = param.schema.find("default");
        d != param.schema.end() && !valid_under(param.schema, *d)) {
      ctx.fail(node, path, "the default does not satisfy the parameter's own schema");
    }
  } catch (const std::exception& e) {
    ctx.fail(node, path, std::string("the schema cannot be compiled: ") + e.what());
  }
}

void check_exec(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                const exec_config& exec) {
  std::set<std::string> names;
  for (const auto& tool : exec.tools) {
    const auto tpath = path + ".tools." + tool.name;
    if (!identifier(tool.name, true))
      ctx.fail_at(tool.position, tpath, "a tool name uses [A-Za-z0-9_-], 64 at most");
    if (!names.insert(tool.name).second) ctx.fail_at(tool.position, tpath, "duplicate tool");
    if (tool.kind == exec_kind::cli) check_cli(ctx, tpath, tool);
    if (tool.kind == exec_kind::http) check_http(ctx, tpath, tool, exec);
    if (tool.kind == exec_kind::sql) {
      if (exec.sql.driver.empty())
        ctx.fail_at(tool.position, tpath, "a sql tool needs the server's `sql:`");
      for (const auto& b : tool.sql.bind) {
        const auto* p = find_param(tool, b);
        if (p == nullptr) {
          ctx.fail_at(tool.position, tpath + ".sql.bind",
                      "`" + b + "` names no declared parameter");
        } else if (type_of(*p) == "array" || type_of(*p) == "object") {
          ctx.fail_at(tool.position, tpath + ".sql.bind",
                      "`" + b + "`: SQL parameters are scalars");
        }
      }
    }
    if (tool.kind != exec_kind::cli && (!tool.argv.empty() || tool.stream.enabled || tool.check)) {
      ctx.fail_at(tool.position, tpath, "argv, stream and check belong to CLI tools");
    }
    if (!tool.preview.empty()) check_preview(ctx, tpath, tool, exec);
  }
  if (exec.version) {
    if (exec.binary.empty())
      ctx.fail(node, path + ".version", "a version check needs the server's `binary`");
    if (!compiles(exec.version->pattern) || std::regex(exec.version->pattern).mark_count() < 1) {
      ctx.fail(node, path + ".version.pattern", "pattern needs a capture group around the version");
    }
    if (auto why = range_error(exec.version->range); !why.empty())
      ctx.fail(node, path + ".version.range", why);
  }
  if (!exec.binary.empty() && exec.version) {
    if (auto why = binary_problem(exec.binary, {}); !why.empty())
      ctx.fail(node, path + ".binary", why);
  }
}

}  // namespace manifold::config::detail
