#pragma once

// MCP 2026-07-28 over Streamable HTTP: tool parameters mirrored into `Mcp-Param-{Name}`
// headers. A property of a tool's inputSchema annotated `"x-mcp-header": "Region"` makes a
// client send `Mcp-Param-Region: <value>` on tools/call; a tool whose annotations break the
// rules must be left out of the client's tool list. Pure logic, no I/O.

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "manifold/protocol/json_rpc.hpp"

namespace manifold::protocol::modern {

inline constexpr std::string_view param_header_keyword = "x-mcp-header";
inline constexpr std::string_view param_header_prefix = "Mcp-Param-";

// One annotation: where the value sits in the call's arguments (the chain of `properties`
// keys from the schema root) and the header's name part.
struct param_header {
  std::vector<std::string> path;
  std::string name;
};

// A tool's annotations, or why the tool is invalid (then `headers` is empty).
struct param_headers_check {
  std::vector<param_header> headers;
  std::optional<std::string> problem;
};

// Reads every `x-mcp-header` in `input_schema`. Each must be a non-empty RFC 9110 token
// (1*tchar: no space, colon, control or non-ASCII character), case-insensitively unique in
// the schema, on a property of type string, integer or boolean (a type list may add "null"),
// reached from the root through `properties` keys only (not items, compositions,
// conditionals, $ref or $defs). Values inside enum, const, default and examples are data and
// are not read.
param_headers_check read_param_headers(const json& input_schema);

// Whether `name` is an RFC 9110 field-name token.
bool is_header_token(std::string_view name);

// The `Mcp-Param-{Name}` headers (full name, encoded value) of a tools/call whose arguments
// are `arguments`: a string as it is, an integer in decimal, a boolean as true/false, each
// encoded like Mcp-Name (the base64 sentinel when needed). A value that is absent or null
// sends no header; neither does an object or an array.
std::vector<std::pair<std::string, std::string>> param_header_values(
    const std::vector<param_header>& headers, const json& arguments);

// The Mcp-Param-* headers of a received request: (full name as sent, raw value).
using received_headers = std::vector<std::pair<std::string, std::string>>;

// -32020 when a 2026-07-28 tools/call's Mcp-Param-* headers disagree with its arguments, for
// the tool's `annotations`: a value present and not null needs its header (name compared
// case-insensitively), whose decoded value (surrounding whitespace trimmed, the base64
// sentinel decoded strictly) carries it: a string exactly, a number numerically ("42" and
// "42.0" carry 42), a boolean as true or false; a header sent for a value the body lacks
// disagrees too. Headers no annotation names are ignored.
std::optional<rpc_error> check_param_headers(const std::vector<param_header>& annotations, const json& arguments,
                                             const received_headers& received);

}  // namespace manifold::protocol::modern
