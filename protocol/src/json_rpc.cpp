#include "manifold/protocol/json_rpc.hpp"

#include <algorithm>

#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/json_access.hpp"

namespace manifold::protocol {

namespace {

json invalid(std::string why) {
  return make_error(nullptr, rpc_error{error_code::invalid_request, std::move(why), std::nullopt});
}

}  // namespace

std::string_view message::method() const {
  const auto it = body.find("method");
  return it != body.end() && it->is_string() ? std::string_view(it->get_ref<const std::string&>())
                                             : std::string_view{};
}

json message::params() const {
  const auto it = body.find("params");
  return it != body.end() ? *it : json::object();
}

json rpc_error::to_json() const {
  json out{{"code", code}, {"message", message}};
  if (data) out["data"] = *data;
  return out;
}

rpc_error rpc_error::from_json(const json& error) {
  rpc_error out{error_code::internal_error, "malformed error from peer", std::nullopt};
  if (!error.is_object()) return out;
  if (const auto c = error.find("code"); c != error.end() && c->is_number_integer()) {
    out.code = c->get<int>();
  }
  if (const auto m = error.find("message"); m != error.end() && m->is_string()) {
    out.message = m->get<std::string>();
  }
  if (const auto d = error.find("data"); d != error.end()) out.data = *d;
  return out;
}

bool is_valid_id(const json& id) { return id.is_string() || id.is_number_integer(); }

parse_outcome parse_message(std::string_view text) {
  auto parsed = parse_json(text);
  if (!parsed.ok()) {
    return {std::nullopt, make_error(nullptr, rpc_error{error_code::parse_error,
                                                        "Parse error: " + parsed.why(), std::nullopt})};
  }
  json body = std::move(parsed.value);
  if (body.is_array()) {
    return {std::nullopt, invalid("Invalid Request: JSON-RPC batches are not supported")};
  }
  if (!body.is_object()) return {std::nullopt, invalid("Invalid Request: not a JSON object")};

  const auto version = body.find("jsonrpc");
  if (version == body.end() || *version != "2.0") {
    return {std::nullopt, invalid("Invalid Request: \"jsonrpc\" must be \"2.0\"")};
  }
  const auto id = body.find("id");
  const bool has_id = id != body.end();
  // An error response whose id the peer could not read carries id null.
  if (has_id && id->is_null() && !body.contains("method") && body.contains("error") &&
      !body.contains("result")) {
    return {message{message_kind::error_response, std::move(body)}, std::nullopt};
  }
  if (has_id && !is_valid_id(*id)) {
    return {std::nullopt, invalid("Invalid Request: \"id\" must be a string or an integer")};
  }

  if (const auto method = body.find("method"); method != body.end()) {
    if (!method->is_string() || method->get_ref<const std::string&>().empty()) {
      return {std::nullopt, has_id ? make_error(*id, {error_code::invalid_request,
                                                      "Invalid Request: \"method\" must be a "
                                                      "non-empty string",
                                                      std::nullopt})
                                   : invalid("Invalid Request: \"method\" must be a string")};
    }
    if (const auto params = body.find("params");
        params != body.end() && !params->is_object() && !params->is_array()) {
      return {std::nullopt,
              has_id ? make_error(*id, {error_code::invalid_request,
                                        "Invalid Request: \"params\" must be an object or an array",
                                        std::nullopt})
                     : invalid("Invalid Request: \"params\" must be an object or an array")};
    }
    const auto kind = has_id ? message_kind::request : message_kind::notification;
    return {message{kind, std::move(body)}, std::nullopt};
  }

  const bool has_result = body.contains("result");
  const bool has_error = body.contains("error");
  if (has_id && has_result != has_error) {
    const auto kind = has_result ? message_kind::response : message_kind::error_response;
    return {message{kind, std::move(body)}, std::nullopt};
  }
  return {std::nullopt,
          invalid("Invalid Request: neither a request, a notification nor a response")};
}

std::string serialize(const json& message) {
  return message.dump(-1, ' ', false, json::error_handler_t::replace);
}

json make_result(const json& id, json result) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", std::move(result)}};
}

json make_error(const json& id, const rpc_error& error) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"error", error.to_json()}};
}

json make_request(const json& id, std::string_view method, json params) {
  json out{{"jsonrpc", "2.0"}, {"id", id}, {"method", method}};
  if (!params.is_null()) out["params"] = std::move(params);
  return out;
}

json make_notification(std::string_view method, json params) {
  json out{{"jsonrpc", "2.0"}, {"method", method}};
  if (!params.is_null()) out["params"] = std::move(params);
  return out;
}

namespace {

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// An id token (a JSON string or an integer) as a valid id, or nothing.
std::optional<json> id_token(std::string_view token) {
  auto value = parse_json(token);
  if (!value.ok() || !is_valid_id(value.value)) return std::nullopt;
  return std::move(value.value);
}

// The value of the top-level member "id" in `text` (which may stop anywhere).
std::optional<json> id_in_head(std::string_view text) {
  std::size_t i = 0;
  const auto n = text.size();
  while (i < n && is_space(text[i])) ++i;
  if (i >= n || text[i] != '{') return std::nullopt;
  ++i;
  int depth = 1;
  while (i < n && depth > 0) {
    const char c = text[i];
    if (c == '"') {
      const auto start = ++i;
      while (i < n && text[i] != '"') i += text[i] == '\\' ? 2U : 1U;
      if (i >= n) return std::nullopt;
      const auto name = text.substr(start, i - start);
      ++i;
      if (depth != 1 || name != "id") continue;
      while (i < n && is_space(text[i])) ++i;
      if (i >= n || text[i] != ':') continue;
      ++i;
      while (i < n && is_space(text[i])) ++i;
      auto end = i;
      if (end < n && text[end] == '"') {
        ++end;
        while (end < n && text[end] != '"') end += text[end] == '\\' ? 2U : 1U;
        if (end >= n) return std::nullopt;
        ++end;
      } else {
        while (end < n && (text[end] == '-' || (text[end] >= '0' && text[end] <= '9'))) ++end;
      }
      return id_token(text.substr(i, end - i));
    }
    if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') --depth;
    ++i;
  }
  return std::nullopt;
}

// The value of "id" when it is the last member of the top-level object ending `text`.
std::optional<json> id_at_end(std::string_view text) {
  auto end = text.size();
  while (end > 0 && is_space(text[end - 1])) --end;
  if (end == 0 || text[end - 1] != '}') return std::nullopt;
  --end;
  while (end > 0 && is_space(text[end - 1])) --end;
  auto start = end;
  if (start > 0 && text[start - 1] == '"') {
    --start;
    // Back to the opening quote: one not preceded by an odd run of backslashes.
    while (start > 0) {
      --start;
      if (text[start] != '"') continue;
      std::size_t slashes = 0;
      while (start > slashes && text[start - 1 - slashes] == '\\') ++slashes;
      if (slashes % 2 == 0) break;
    }
    if (text[start] != '"') return std::nullopt;
  } else {
    while (start > 0 && (text[start - 1] == '-' || (text[start - 1] >= '0' && text[start - 1] <= '9'))) {
      --start;
    }
  }
  if (start == end) return std::nullopt;
  const auto token = text.substr(start, end - start);
  auto i = start;
  while (i > 0 && is_space(text[i - 1])) --i;
  if (i == 0 || text[i - 1] != ':') return std::nullopt;
  --i;
  while (i > 0 && is_space(text[i - 1])) --i;
  constexpr std::string_view name = "\"id\"";
  if (i < name.size() || text.substr(i - name.size(), name.size()) != name) return std::nullopt;
  i -= name.size();
  while (i > 0 && is_space(text[i - 1])) --i;
  if (i == 0 || (text[i - 1] != ',' && text[i - 1] != '{')) return std::nullopt;
  return id_token(token);
}

}  // namespace

envelope peek_envelope(std::string_view head, std::string_view tail) {
  envelope out;
  out.kind = peek_kind(head);
  out.id = id_in_head(head);
  if (!out.id && !tail.empty()) out.id = id_at_end(tail);
  if (out.kind == message_kind::notification && out.id) out.kind = message_kind::request;
  return out;
}

std::optional<message_kind> peek_kind(std::string_view text) {
  std::size_t i = 0;
  const auto n = text.size();
  auto space = [&] {
    while (i < n && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
  };
  space();
  if (i >= n || text[i] != '{') return std::nullopt;
  ++i;
  int depth = 1;
  bool has_method = false;
  bool has_id = false;
  bool has_result = false;
  bool has_error = false;
  while (i < n && depth > 0) {
    const char c = text[i];
    if (c == '"') {
      const auto start = ++i;
      while (i < n && text[i] != '"') i += text[i] == '\\' ? 2U : 1U;
      const auto end = std::min(i, n);
      ++i;
      if (depth != 1) continue;
      space();
      if (i < n && text[i] == ':') {  // a member name of the top-level object
        const auto name = text.substr(start, end - start);
        has_method |= name == "method";
        has_id |= name == "id";
        has_result |= name == "result";
        has_error |= name == "error";
      }
      continue;
    }
    if (c == '{' || c == '[') ++depth;
    else if (c == '}' || c == ']') --depth;
    ++i;
  }
  if (has_method) return has_id ? message_kind::request : message_kind::notification;
  if (has_result) return message_kind::response;
  if (has_error) return message_kind::error_response;
  return std::nullopt;
}

}  // namespace manifold::protocol
