#include "manifold/protocol/json_access.hpp"

#include <cmath>

namespace manifold::protocol {

namespace {

// nlohmann's DOM builder behind a SAX layer that counts nesting and catches integers that
// overflowed into doubles (the lexer hands over their text: no '.', 'e' or 'E').
class bounded_sax {
 public:
  bounded_sax(json& out, std::size_t max_depth) : dom_(out, false), max_depth_(max_depth) {}

  bool null() { return dom_.null(); }
  bool boolean(bool v) { return dom_.boolean(v); }
  bool number_integer(json::number_integer_t v) { return dom_.number_integer(v); }
  bool number_unsigned(json::number_unsigned_t v) { return dom_.number_unsigned(v); }
  bool number_float(json::number_float_t v, const json::string_t& text) {
    if (text.find_first_of(".eE") == std::string::npos) {
      problem_ = json_problem::integer_too_large;
      return false;
    }
    return dom_.number_float(v, text);
  }
  bool string(json::string_t& v) { return dom_.string(v); }
  bool binary(json::binary_t& v) { return dom_.binary(v); }
  bool start_object(std::size_t n) { return enter() && dom_.start_object(n); }
  bool key(json::string_t& v) { return dom_.key(v); }
  bool end_object() {
    --depth_;
    return dom_.end_object();
  }
  bool start_array(std::size_t n) { return enter() && dom_.start_array(n); }
  bool end_array() {
    --depth_;
    return dom_.end_array();
  }
  template <typename Exception>
  bool parse_error(std::size_t, const std::string&, const Exception&) {
    if (problem_ == json_problem::none) problem_ = json_problem::syntax;
    return false;
  }

  [[nodiscard]] json_problem problem() const { return problem_; }

 private:
  bool enter() {
    if (++depth_ > max_depth_) {
      problem_ = json_problem::too_deep;
      return false;
    }
    return true;
  }

  nlohmann::detail::json_sax_dom_parser<json> dom_;
  std::size_t max_depth_;
  std::size_t depth_ = 0;
  json_problem problem_ = json_problem::none;
};

}  // namespace

std::string parsed_json::why() const {
  switch (problem) {
    case json_problem::none:
      return {};
    case json_problem::syntax:
      return "not valid JSON";
    case json_problem::too_deep:
      return "JSON nested deeper than " + std::to_string(max_json_depth) + " levels";
    case json_problem::integer_too_large:
      return "an integer does not fit in 64 bits";
  }
  return "not valid JSON";
}

parsed_json parse_json(std::string_view text, std::size_t max_depth) {
  parsed_json out;
  bounded_sax sax(out.value, max_depth);
  const bool ok = json::sax_parse(text, &sax, json::input_format_t::json, /*strict=*/true,
                                  /*ignore_comments=*/false);
  if (!ok || sax.problem() != json_problem::none) {
    out.problem = sax.problem() == json_problem::none ? json_problem::syntax : sax.problem();
    out.value = json(json::value_t::discarded);
  }
  return out;
}

const json* member(const json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

json* member(json& object, std::string_view key) {
  if (!object.is_object()) return nullptr;
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

std::optional<std::string_view> string_member(const json& object, std::string_view key) {
  const auto* m = member(object, key);
  if (m == nullptr || !m->is_string()) return std::nullopt;
  return std::string_view(m->get_ref<const std::string&>());
}

std::optional<std::int64_t> integer_value(const json& value) {
  if (value.is_number_unsigned()) {
    const auto u = value.get_ref<const json::number_unsigned_t&>();
    if (u > static_cast<json::number_unsigned_t>(INT64_MAX)) return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (value.is_number_integer()) return value.get_ref<const json::number_integer_t&>();
  return std::nullopt;
}

std::optional<std::int64_t> whole_number(const json& value) {
  if (!value.is_number_float()) return integer_value(value);
  const double d = value.get_ref<const json::number_float_t&>();
  constexpr double exact_limit = 9007199254740991.0;  // 2^53 - 1
  if (!std::isfinite(d) || std::trunc(d) != d || std::fabs(d) > exact_limit) return std::nullopt;
  return static_cast<std::int64_t>(d);
}

std::optional<std::string> scalar_text(const json& value) {
  if (value.is_string()) return value.get_ref<const json::string_t&>();
  if (value.is_boolean()) return std::string(value.get_ref<const json::boolean_t&>() ? "true" : "false");
  if (value.is_number_float()) {
    if (const auto whole = whole_number(value)) return std::to_string(*whole);
  }
  if (value.is_number()) return value.dump();
  return std::nullopt;
}

std::optional<std::int64_t> integer_member(const json& object, std::string_view key) {
  const auto* m = member(object, key);
  return m == nullptr ? std::nullopt : integer_value(*m);
}

std::optional<bool> bool_member(const json& object, std::string_view key) {
  const auto* m = member(object, key);
  if (m == nullptr || !m->is_boolean()) return std::nullopt;
  return m->get_ref<const json::boolean_t&>();
}

const json* object_member(const json& object, std::string_view key) {
  const auto* m = member(object, key);
  return m != nullptr && m->is_object() ? m : nullptr;
}

const json* array_member(const json& object, std::string_view key) {
  const auto* m = member(object, key);
  return m != nullptr && m->is_array() ? m : nullptr;
}

std::string string_or(const json& object, std::string_view key, std::string_view fallback) {
  const auto s = string_member(object, key);
  return std::string(s ? *s : fallback);
}

}  // namespace manifold::protocol
