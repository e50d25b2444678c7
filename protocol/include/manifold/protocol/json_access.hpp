#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

// Reading JSON that comes from outside manifold (a host, an upstream, a file, a token):
// parsing with a nesting bound, and checked access to members, so that a wrongly typed or
// missing field is a value the caller handles, never an exception out of a read loop.
namespace manifold::protocol {

using json = nlohmann::json;

// Deeper than any real schema or message; shallow enough that every recursive walk
// (serialisation, copies, schema compilation, URI rewriting) stays far from the stack's end.
inline constexpr std::size_t max_json_depth = 512;

enum class json_problem { none, syntax, too_deep, integer_too_large };

struct parsed_json {
  json value;  // discarded unless problem is none
  json_problem problem = json_problem::none;

  [[nodiscard]] bool ok() const { return problem == json_problem::none; }
  // What was wrong, for an error message or a log line.
  [[nodiscard]] std::string why() const;
};

// Parses `text` from outside. Refused before anything is built: nesting deeper than
// `max_depth`, and integers that do not fit in 64 bits (they would be relayed as rounded
// doubles; manifold never alters a number silently).
parsed_json parse_json(std::string_view text, std::size_t max_depth = max_json_depth);

// The member `key` of `object`, or null when `object` is not an object or lacks it.
const json* member(const json& object, std::string_view key);
json* member(json& object, std::string_view key);
// `value` as a signed 64-bit integer, when it is an integer that fits.
std::optional<std::int64_t> integer_value(const json& value);
// `value` as a whole number: an integer that fits, or a float that holds one exactly within
// ±(2^53 - 1), where doubles are still exact (3.0 gives 3, 3.5 and 1e300 give nullopt).
std::optional<std::int64_t> whole_number(const json& value);
// A scalar as text in an argv slot, a header or a query string: a string as it is, a boolean
// as true/false, a whole number without a fraction (3.0 as "3"), any other number as JSON
// writes it; nullopt for null, arrays and objects.
std::optional<std::string> scalar_text(const json& value);
// The member when it has the type asked for; nullopt / null otherwise.
std::optional<std::string_view> string_member(const json& object, std::string_view key);
std::optional<std::int64_t> integer_member(const json& object, std::string_view key);
std::optional<bool> bool_member(const json& object, std::string_view key);
const json* object_member(const json& object, std::string_view key);
const json* array_member(const json& object, std::string_view key);
// The string member, or `fallback` when it is missing or not a string.
std::string string_or(const json& object, std::string_view key, std::string_view fallback = {});

}  // namespace manifold::protocol
