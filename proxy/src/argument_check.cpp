#include "argument_check.hpp"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

#include "manifold/protocol/json_access.hpp"

namespace manifold::proxy {

using ns::json;

struct argument_check::compiled {
  valijson::Schema schema;
};

argument_check::argument_check(const ns::exposed_entry& tool)
    : tool_name_(tool.name), fixed_(tool.fixed_arguments) {
  if (tool.argument_schema.is_null()) return;
  if (const auto* p = protocol::object_member(tool.argument_schema, "properties")) constraints_ = *p;
  schema_ = std::make_unique<compiled>();
  valijson::SchemaParser parser;
  valijson::adapters::NlohmannJsonAdapter document(tool.argument_schema);
  parser.populateSchema(document, schema_->schema);
}

argument_check::~argument_check() = default;

std::optional<std::string> argument_check::violation(const json& arguments) const {
  if (!schema_) return std::nullopt;
  valijson::Validator validator;
  valijson::ValidationResults results;
  valijson::adapters::NlohmannJsonAdapter target(arguments);
  if (validator.validate(schema_->schema, target, &results)) return std::nullopt;
  valijson::ValidationResults::Error error;
  std::string where;
  std::string what;
  while (results.popError(error)) {
    // The deepest error names the argument (context: <root>, [arg]).
    if (error.context.size() >= 2 && (where.empty() || error.context.size() > 2)) {
      where = error.context[1];
      what = error.description;
    }
  }
  const auto unwrap = [&where](char open, char close) {
    if (where.size() > 2 && where.front() == open && where.back() == close) {
      where = where.substr(1, where.size() - 2);
    }
  };
  unwrap('[', ']');
  unwrap('"', '"');
  const auto* rule = protocol::member(constraints_, where);
  const auto* got = protocol::member(arguments, where);
  return "Invalid arguments for " + tool_name_ + ": argument `" + where + "` breaks the rule " +
         (rule != nullptr ? rule->dump() : std::string("{}")) + " (" + what + "); got " +
         (got != nullptr ? got->dump() : std::string("nothing"));
}

void argument_check::add_fixed(json& arguments) const {
  if (!fixed_.is_object()) return;
  for (const auto& [name, value] : fixed_.items()) arguments[name] = value;
}

}  // namespace manifold::proxy
