#include "manifold/protocol/param_headers.hpp"

#include <algorithm>
#include <array>

#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/modern.hpp"
#include "manifold/protocol/text.hpp"

namespace manifold::protocol::modern {

bool is_header_token(std::string_view name) {
  constexpr std::string_view specials = "!#$%&'*+-.^_`|~";
  return !name.empty() && std::all_of(name.begin(), name.end(), [&](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           specials.find(c) != std::string_view::npos;
  });
}

namespace {

constexpr std::size_t max_schema_depth = 64;

std::string describe_path(const std::vector<std::string>& path) {
  std::string out;
  for (const auto& step : path) {
    if (!out.empty()) out += '.';
    out += step;
  }
  return out.empty() ? std::string("(the schema root)") : out;
}

// A property schema's type admits exactly one of string, integer and boolean (and maybe null).
bool primitive_type(const json& schema) {
  static constexpr std::array<std::string_view, 3> allowed{"string", "integer", "boolean"};
  const auto is_allowed = [](const json& t) {
    return t.is_string() && std::find(allowed.begin(), allowed.end(),
                                      t.get_ref<const std::string&>()) != allowed.end();
  };
  const auto* type = member(schema, "type");
  if (type == nullptr) return false;
  if (type->is_string()) return is_allowed(*type);
  if (!type->is_array()) return false;
  std::size_t primitives = 0;
  for (const auto& t : *type) {
    if (is_allowed(t)) {
      ++primitives;
    } else if (!(t.is_string() && t == "null")) {
      return false;
    }
  }
  return primitives == 1;
}

class schema_walker {
 public:
  param_headers_check result;

  // `path` is set while `node` is reached from the root through `properties` keys alone.
  void visit(const json& node, const std::vector<std::string>* path, std::size_t depth) {
    if (result.problem || depth > max_schema_depth) return;
    if (node.is_array()) {
      for (const auto& element : node) visit(element, nullptr, depth + 1);
      return;
    }
    if (!node.is_object()) return;
    if (const auto* annotation = member(node, param_header_keyword)) check(node, *annotation, path);
    for (const auto& [key, value] : node.items()) {
      if (key == param_header_keyword || key == "enum" || key == "const" || key == "default" ||
          key == "examples") {
        continue;
      }
      if (key == "properties" && value.is_object()) {
        for (const auto& [name, property] : value.items()) {
          if (path == nullptr) {
            visit(property, nullptr, depth + 1);
          } else {
            auto deeper = *path;
            deeper.push_back(name);
            visit(property, &deeper, depth + 1);
          }
        }
        continue;
      }
      visit(value, nullptr, depth + 1);
    }
  }

 private:
  void fail(std::string why) {
    if (!result.problem) result.problem = std::move(why);
  }

  void check(const json& node, const json& annotation, const std::vector<std::string>* path) {
    if (!annotation.is_string()) {
      fail("x-mcp-header must be a string");
      return;
    }
    const auto& name = annotation.get_ref<const std::string&>();
    const auto quoted = "x-mcp-header '" + log_safe(name, 80) + "'";
    if (name.empty()) return fail("x-mcp-header must not be empty");
    if (!is_header_token(name)) {
      return fail(
          quoted +
          " is not an HTTP header name token (no spaces, colons, control or non-ASCII characters)");
    }
    if (path == nullptr || path->empty()) {
      return fail(quoted +
                  " is not on a property reached from the schema root through `properties` alone");
    }
    if (!primitive_type(node)) {
      return fail(quoted + " on " + describe_path(*path) +
                  " is not on a property of type string, integer or boolean");
    }
    const auto folded = lower_ascii(name);
    for (const auto& seen : result.headers) {
      if (lower_ascii(seen.name) == folded) {
        return fail(quoted + " on " + describe_path(*path) + " repeats the one on " +
                    describe_path(seen.path) + " (names compare case-insensitively)");
      }
    }
    result.headers.push_back({*path, name});
  }
};

// The argument at `path`, or null.
const json* value_at(const json& arguments, const std::vector<std::string>& path) {
  const json* at = &arguments;
  for (const auto& step : path) {
    at = at->is_object() ? member(*at, step) : nullptr;
    if (at == nullptr) break;
  }
  return at;
}

// A number as a double, for comparing one that is not whole.
double as_double(const json& number) {
  if (number.is_number_float()) return number.get_ref<const json::number_float_t&>();
  if (number.is_number_unsigned()) return static_cast<double>(number.get_ref<const json::number_unsigned_t&>());
  return static_cast<double>(number.get_ref<const json::number_integer_t&>());
}

// Whether a decoded header value carries the argument `value`.
bool carries(const std::string& text, const json& value) {
  if (value.is_string()) return text == value.get_ref<const json::string_t&>();
  if (value.is_boolean()) return text == (value.get_ref<const json::boolean_t&>() ? "true" : "false");
  if (!value.is_number()) return false;
  const auto parsed = parse_json(text, 1);
  if (!parsed.ok() || !parsed.value.is_number()) return false;
  const auto sent = whole_number(parsed.value);
  const auto body = whole_number(value);
  if (sent || body) return sent == body;
  return as_double(parsed.value) == as_double(value);
}

// The header text of an argument value; nullopt when it sends no header.
std::optional<std::string> header_text(const json& value) {
  if (value.is_string()) return encode_header_value(value.get_ref<const std::string&>());
  return scalar_text(value);
}

}  // namespace

param_headers_check read_param_headers(const json& input_schema) {
  schema_walker walker;
  const std::vector<std::string> root;
  walker.visit(input_schema, &root, 0);
  if (walker.result.problem) walker.result.headers.clear();
  return std::move(walker.result);
}

std::vector<std::pair<std::string, std::string>> param_header_values(
    const std::vector<param_header>& headers, const json& arguments) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& header : headers) {
    const json* at = value_at(arguments, header.path);
    if (at == nullptr || at->is_null()) continue;
    if (auto text = header_text(*at))
      out.emplace_back(std::string(param_header_prefix) + header.name, std::move(*text));
  }
  return out;
}

std::optional<rpc_error> check_param_headers(const std::vector<param_header>& annotations, const json& arguments,
                                             const received_headers& received) {
  for (const auto& annotation : annotations) {
    const auto full = std::string(param_header_prefix) + annotation.name;
    const auto folded = lower_ascii(full);
    const std::string* sent = nullptr;
    for (const auto& [name, value] : received) {
      if (lower_ascii(name) == folded) {
        sent = &value;
        break;
      }
    }
    const json* body = value_at(arguments, annotation.path);
    if (body == nullptr || body->is_null()) {
      if (sent != nullptr) return header_disagrees(full, *sent, "(absent)");
      continue;
    }
    const auto body_text = scalar_text(*body).value_or(body->dump());
    if (sent == nullptr) return header_disagrees(full, "(absent)", body_text);
    const auto decoded = decode_header_value(*sent);
    if (!decoded || !carries(*decoded, *body)) return header_disagrees(full, *sent, body_text);
  }
  return std::nullopt;
}

}  // namespace manifold::protocol::modern
