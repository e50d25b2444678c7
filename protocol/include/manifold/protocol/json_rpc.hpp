#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

// JSON-RPC 2.0 message model. Messages stay nlohmann::json objects so that every field a
// peer sent (ids, _meta, unknown members) passes through untouched; these helpers classify,
// validate and build them.
namespace manifold::protocol {

using json = nlohmann::json;

enum class message_kind { request, notification, response, error_response };

// One validated message. `body` is the whole object as received.
struct message {
  message_kind kind;
  json body;

  [[nodiscard]] const json& id() const { return body.at("id"); }
  [[nodiscard]] std::string_view method() const;
  // `params` when present (object or array), otherwise an empty object.
  [[nodiscard]] json params() const;
};

struct rpc_error {
  int code = 0;
  std::string message;
  std::optional<json> data;

  [[nodiscard]] json to_json() const;
  // Reads a peer's `error` member; malformed members become an internal error.
  static rpc_error from_json(const json& error);
};

// Either a message, or the error response to send back instead (-32700 with id null for
// text that is not JSON, -32600 for JSON that is not a valid JSON-RPC 2.0 message).
struct parse_outcome {
  std::optional<message> msg;
  std::optional<json> error_reply;
};

parse_outcome parse_message(std::string_view text);

// The kind of a serialized message, read from its top-level member names without building
// it: for text that is already known to be valid JSON (manifold's own output). nullopt when
// it is not an object, or its members name no kind.
std::optional<message_kind> peek_kind(std::string_view text);

// What can be told of a message that could not be parsed whole (nested too deep, a number
// too large, or cut because it was oversized) from its first bytes (`head`) and its last
// (`tail`): its kind, from the top-level member names in `head`, and its id, found at the top
// level of `head` or as the last member at the very end of `tail`. Either may be missing.
struct envelope {
  std::optional<message_kind> kind;
  std::optional<json> id;  // a valid id (string or integer) or nothing
};
envelope peek_envelope(std::string_view head, std::string_view tail = {});

// A valid request id: a string or an integer (JSON-RPC forbids null; MCP forbids null too).
bool is_valid_id(const json& id);

// Compact single-line text for the wire; invalid UTF-8 is replaced, never thrown on.
std::string serialize(const json& message);

json make_result(const json& id, json result);
json make_error(const json& id, const rpc_error& error);
json make_request(const json& id, std::string_view method, json params);
json make_notification(std::string_view method, json params);

}  // namespace manifold::protocol
