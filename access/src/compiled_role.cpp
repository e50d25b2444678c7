#include "compiled_role.hpp"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema_parser.hpp>

#include <algorithm>
#include <regex>
#include <stdexcept>

#include "manifold/namespace/naming.hpp"

namespace manifold::access {

namespace {

// Strings longer than this are not matched against a pattern (std::regex recurses per
// character and could exhaust the stack); such a value breaks the constraint.
constexpr std::size_t max_pattern_input = 4096;

std::string shown(const nlohmann::json& value) {
  auto text = value.dump();
  if (text.size() > 64) text = text.substr(0, 61) + "...";
  return text;
}

compiled_filter compile_filter(const config::role_filter_config& cfg) { return {cfg.allow, cfg.deny}; }

compiled_constraint compile_constraint(const std::string& argument, nlohmann::json fragment) {
  compiled_constraint out;
  out.argument = argument;
  if (const auto it = fragment.find("optional"); it != fragment.end()) {
    out.optional = it->is_boolean() && it->get<bool>();
    fragment.erase(it);
  }
  out.has_pattern = fragment.contains("pattern");
  // JSON Schema applies pattern and lengths only to strings, bounds only to numbers: a value
  // of another type would pass unchecked. A rule's constraint therefore implies the type.
  const bool text = out.has_pattern || fragment.contains("minLength") || fragment.contains("maxLength");
  const bool number = fragment.contains("minimum") || fragment.contains("maximum") ||
                      fragment.contains("exclusiveMinimum") || fragment.contains("exclusiveMaximum");
  if (!fragment.contains("type") && text != number) fragment["type"] = text ? "string" : "number";
  if (out.has_pattern) {
    const std::regex checked(fragment["pattern"].get<std::string>(), std::regex::ECMAScript);  // throws if invalid
  }
  out.schema = std::make_unique<valijson::Schema>();
  valijson::SchemaParser parser;
  const valijson::adapters::NlohmannJsonAdapter doc(fragment);
  parser.populateSchema(doc, *out.schema);
  out.validator = std::make_unique<valijson::Validator>();
  out.fragment = std::move(fragment);
  return out;
}

}  // namespace

compiled_filter::admission compiled_filter::admit(std::string_view name) const {
  for (const auto& glob : deny) {
    if (ns::glob_match(glob, name)) return {false, glob};
  }
  for (const auto& glob : allow) {
    if (ns::glob_match(glob, name)) return {true, glob};
  }
  return {};
}

std::string compiled_constraint::requirement() const {
  std::vector<std::string> parts;
  if (const auto type = fragment.find("type"); type != fragment.end()) {
    parts.push_back("be of type " + (type->is_string() ? type->get<std::string>() : type->dump()));
  }
  for (const auto& [key, value] : fragment.items()) {
    if (key == "type") continue;
    if (key == "pattern") parts.push_back("match " + (value.is_string() ? value.get<std::string>() : value.dump()));
    else if (key == "enum") parts.push_back("be one of " + value.dump());
    else if (key == "const") parts.push_back("be " + value.dump());
    else if (key == "minimum") parts.push_back("be at least " + value.dump());
    else if (key == "maximum") parts.push_back("be at most " + value.dump());
    else if (key == "exclusiveMinimum") parts.push_back("be more than " + value.dump());
    else if (key == "exclusiveMaximum") parts.push_back("be less than " + value.dump());
    else if (key == "minLength") parts.push_back("have at least " + value.dump() + " characters");
    else if (key == "maxLength") parts.push_back("have at most " + value.dump() + " characters");
    else parts.push_back("satisfy " + nlohmann::json{{key, value}}.dump());
  }
  std::string out = "must ";
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i == 0 ? "" : " and ") + parts[i];
  return out;
}

std::optional<std::string> compiled_constraint::violation(const nlohmann::json& arguments) const {
  const auto it = arguments.is_object() ? arguments.find(argument) : arguments.end();
  if (!arguments.is_object() || it == arguments.end()) {
    if (optional) return std::nullopt;
    return "argument `" + argument + "` is required (it " + requirement() + ")";
  }
  const auto& value = *it;
  if (has_pattern && value.is_string() && value.get_ref<const std::string&>().size() > max_pattern_input) {
    return "argument `" + argument + "` is too long to check against its pattern";
  }
  const valijson::adapters::NlohmannJsonAdapter target(value);
  try {
    if (validator->validate(*schema, target, nullptr)) return std::nullopt;
  } catch (const std::exception&) {
    return "argument `" + argument + "` could not be checked";
  }
  return "argument `" + argument + "` " + requirement() + " (got " + shown(value) + ")";
}

bool compiled_rule::applies_to(std::string_view tool) const {
  return std::any_of(tools.begin(), tools.end(), [&](const std::string& glob) { return ns::glob_match(glob, tool); });
}

std::optional<std::string> compiled_rule::refusal(std::string_view tool, const nlohmann::json& arguments) const {
  if (!applies_to(tool)) return std::nullopt;
  if (deny) {
    // A deny rule refuses when every condition holds (always, without conditions).
    for (const auto& c : when) {
      if (c.violation(arguments)) return std::nullopt;
    }
    if (when.empty()) return std::string(tool) + " may not be called";
    return std::string(tool) + " may not be called with these arguments (" + summary() + ")";
  }
  for (const auto& c : when) {
    if (auto why = c.violation(arguments)) return why;
  }
  return std::nullopt;
}

std::string compiled_rule::summary() const {
  if (when.empty()) return deny ? "never" : "always";
  std::string out;
  for (const auto& c : when) {
    out += (out.empty() ? "" : "; ") + c.argument + " " + c.requirement() + (c.optional ? " (when given)" : "");
  }
  return out;
}

const compiled_filter& compiled_role::filter(entry_kind kind) const {
  return kind == entry_kind::tool ? tools : kind == entry_kind::prompt ? prompts : resources;
}

std::optional<std::pair<const compiled_rule*, std::string>> compiled_role::refusal(
    std::string_view tool, const nlohmann::json& arguments) const {
  for (const auto& rule : rules) {
    if (auto why = rule.refusal(tool, arguments)) return std::make_pair(&rule, std::move(*why));
  }
  return std::nullopt;
}

const compiled_role* compiled_policy::find(std::string_view name) const {
  const auto it = std::lower_bound(roles.begin(), roles.end(), name,
                                   [](const compiled_role& r, std::string_view n) { return r.name < n; });
  return it != roles.end() && it->name == name ? &*it : nullptr;
}

std::shared_ptr<const compiled_policy> compile_policy(const std::vector<config::role_config>& roles) {
  auto out = std::make_shared<compiled_policy>();
  for (const auto& cfg : roles) {
    compiled_role role;
    role.name = cfg.name;
    role.tools = compile_filter(cfg.tools);
    role.prompts = compile_filter(cfg.prompts);
    role.resources = compile_filter(cfg.resources);
    role.groups = cfg.groups;
    role.limits = cfg.limits;
    for (const auto& rule_cfg : cfg.rules) {
      compiled_rule rule{rule_cfg.name, rule_cfg.tools, rule_cfg.deny, {}};
      for (const auto& [argument, fragment] : rule_cfg.when) {
        try {
          rule.when.push_back(compile_constraint(argument, fragment));
        } catch (const std::exception&) {
          throw std::invalid_argument("role " + cfg.name + ", rule " + rule_cfg.name + ": the constraint on `" +
                                      argument + "` is not a valid JSON Schema fragment");
        }
      }
      role.rules.push_back(std::move(rule));
    }
    out->roles.push_back(std::move(role));
  }
  std::sort(out->roles.begin(), out->roles.end(),
            [](const compiled_role& a, const compiled_role& b) { return a.name < b.name; });
  return out;
}

}  // namespace manifold::access
