#include "manifold/exec/arguments.hpp"

#include <algorithm>
#include <cstdint>
#include <limits>
#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "manifold/protocol/json_access.hpp"

namespace manifold::exec {

namespace {

constexpr std::size_t max_object_bytes = 256 * 1024;
constexpr std::size_t max_enum_string = 4096;  // a string bounded only by its enum

const char* const plan_pattern = "^[A-Za-z0-9_-]{22}$";

std::size_t string_bound(const json& schema) {
  if (const auto m = schema.find("maxLength"); m != schema.end() && m->is_number_unsigned()) {
    return static_cast<std::size_t>(m->get<std::uint64_t>());
  }
  return max_enum_string;
}

// Size and character checks that run before the schema, so no pattern sees an unbounded
// value. Empty when fine.
std::string pre_check(const std::string& name, const json& schema, const json& value,
                      bool is_stdin) {
  if (value.is_string()) {
    const auto& s = value.get_ref<const std::string&>();
    if (s.size() > string_bound(schema)) {
      return "parameter `" + name + "` is longer than " + std::to_string(string_bound(schema)) +
             " bytes";
    }
    if (s.find('\0') != std::string::npos) return "parameter `" + name + "` contains a NUL byte";
    if (!is_stdin && s.find_first_of("\r\n") != std::string::npos) {
      return "parameter `" + name + "` contains a line break";
    }
    return {};
  }
  if (value.is_array()) {
    const auto items = schema.find("items");
    const auto max_items = schema.value("maxItems", std::uint64_t{0});
    if (value.size() > max_items) {
      return "parameter `" + name + "` has more than " + std::to_string(max_items) + " items";
    }
    for (const auto& item : value) {
      if (auto why = pre_check(name, items != schema.end() ? *items : json::object(), item, false);
          !why.empty()) {
        return why;
      }
    }
    return {};
  }
  if (value.is_object()) {
    const auto text = value.dump(-1, ' ', false, json::error_handler_t::replace);
    if (text.size() > max_object_bytes) return "parameter `" + name + "` is larger than 256KiB";
    if (text.find("\\u0000") != std::string::npos)
      return "parameter `" + name + "` contains a NUL byte";
  }
  return {};
}

// 3.0 for an integer parameter becomes 3, so it renders as "3".
void normalise_integer(json& value) {
  if (!value.is_number_float()) return;
  if (const auto whole = protocol::whole_number(value)) value = *whole;
}

}  // namespace

struct argument_checker::impl {
  json schema;
  valijson::Schema compiled;
  const config::exec_tool* tool = nullptr;
  bool has_plan = false;
};

argument_checker::argument_checker(const config::exec_tool& tool)
    : impl_(std::make_unique<impl>()) {
  impl_->tool = &tool;
  impl_->has_plan = !tool.preview.empty();
  json properties = json::object();
  json required = json::array();
  for (const auto& p : tool.params) {
    properties[p.name] = p.schema;
    if (p.required) required.push_back(p.name);
  }
  if (impl_->has_plan) {
    properties["plan_id"] = {
        {"type", "string"},
        {"pattern", plan_pattern},
        {"description", "The plan_id that `" + tool.preview +
                            "` returned for exactly these arguments (single use, expires)."}};
    required.push_back("plan_id");
  }
  impl_->schema = {
      {"type", "object"}, {"properties", std::move(properties)}, {"additionalProperties", false}};
  if (!required.empty()) impl_->schema["required"] = std::move(required);
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter doc(impl_->schema);
  parser.populateSchema(doc, impl_->compiled);
}

argument_checker::~argument_checker() = default;

const json& argument_checker::input_schema() const { return impl_->schema; }

namespace {

// Unknown names and values over their bounds, before the schema sees anything.
std::string screen(const config::exec_tool& tool, bool has_plan, const json& values) {
  std::string allowed;
  for (const auto& p : tool.params) allowed += (allowed.empty() ? "" : ", ") + p.name;
  if (has_plan) allowed += (allowed.empty() ? "" : ", ") + std::string("plan_id");
  for (const auto& [key, value] : values.items()) {
    const auto param =
        std::find_if(tool.params.begin(), tool.params.end(),
                     [&key = key](const config::exec_param& p) { return p.name == key; });
    const bool known = param != tool.params.end();
    if (!known && !(has_plan && key == "plan_id")) {
      return "unknown parameter `" + key.substr(0, 64) + "`; " + tool.name +
             " takes: " + (allowed.empty() ? "nothing" : allowed);
    }
    const auto& schema = known ? param->schema : json{{"maxLength", 22}};
    if (auto why = pre_check(key, schema, value, known && key == tool.stdin_param); !why.empty())
      return why;
  }
  return {};
}

// The deepest error valijson reports, said so that a person or a model can fix the call.
std::string violation(valijson::ValidationResults& results, const json& schema) {
  valijson::ValidationResults::Error error;
  std::string where;
  std::string what;
  while (results.popError(error)) {
    if (error.context.size() >= 2 && (where.empty() || error.context.size() > 2)) {
      where = error.context[1];
      what = error.description;
    } else if (where.empty()) {
      what = error.description;
    }
  }
  if (where.size() > 2 && where.front() == '[' && where.back() == ']')
    where = where.substr(1, where.size() - 2);
  if (where.size() > 2 && where.front() == '"' && where.back() == '"')
    where = where.substr(1, where.size() - 2);
  if (where.empty()) return "invalid arguments: " + what;
  const auto* properties = (schema.contains("properties") ? &schema["properties"] : nullptr);
  const auto rule =
      properties != nullptr && properties->contains(where) ? (*properties)[where] : json();
  return "parameter `" + where + "` breaks its rule " + rule.dump() + " (" + what + ")";
}

}  // namespace

checked_arguments argument_checker::check(const json& arguments) const {
  checked_arguments out;
  const auto& tool = *impl_->tool;
  if (!arguments.is_null() && !arguments.is_object()) {
    out.error = "arguments must be an object";
    return out;
  }
  json values = arguments.is_object() ? arguments : json::object();
  out.error = screen(tool, impl_->has_plan, values);
  if (!out.error.empty()) return out;
  for (const auto& p : tool.params) {
    auto it = values.find(p.name);
    if (it == values.end()) {
      const auto d = p.schema.find("default");
      if (d == p.schema.end()) continue;
      it = values.emplace(p.name, *d).first;
    }
    if (p.schema.value("type", "") == "integer") normalise_integer(*it);
  }
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(values);
  if (!validator.validate(impl_->compiled, target, &results)) {
    out.error = violation(results, impl_->schema);
    return out;
  }
  if (const auto plan = values.find("plan_id"); plan != values.end()) {
    out.plan_id = plan->get<std::string>();
    values.erase(plan);
  }
  out.values = std::move(values);
  return out;
}

}  // namespace manifold::exec
