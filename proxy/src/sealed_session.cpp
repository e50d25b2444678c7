#include "sealed_session.hpp"

#include <charconv>

namespace manifold::proxy {

using protocol::json;

namespace {

constexpr std::string_view session_purpose = "s1";
constexpr std::string_view route_purpose = "r1";
constexpr std::string_view ended_purpose = "e1";
constexpr int format = 1;
constexpr std::size_t max_sealed_depth = 64;

json to_json(const sealed_session& s) {
  return json{{"v", format},          {"sid", s.sid},   {"p", s.principal},
              {"g", s.group},         {"pv", s.protocol_version},
              {"c", s.client_capabilities}, {"i", s.client_info},
              {"l", s.log_level},     {"s", s.subscriptions},
              {"t", s.created},       {"e", s.expires}};
}

// The state back from its JSON; nullopt when a field is missing or of the wrong type (a
// token sealed by a newer format, or a bug: never trusted half-read).
std::optional<sealed_session> from_json(const json& j) {
  sealed_session out;
  const auto version = protocol::integer_member(j, "v");
  const auto sid = protocol::string_member(j, "sid");
  const auto principal = protocol::string_member(j, "p");
  const auto group = protocol::string_member(j, "g");
  const auto protocol_version = protocol::string_member(j, "pv");
  const auto* caps = protocol::object_member(j, "c");
  const auto* info = protocol::object_member(j, "i");
  const auto level = protocol::string_member(j, "l");
  const auto* subs = protocol::array_member(j, "s");
  const auto created = protocol::integer_member(j, "t");
  const auto expires = protocol::integer_member(j, "e");
  if (!version || *version != format || !sid || sid->empty() || !principal || !group || !protocol_version ||
      caps == nullptr || info == nullptr || !level || subs == nullptr || !created || !expires) {
    return std::nullopt;
  }
  out.sid = *sid;
  out.principal = *principal;
  out.group = *group;
  out.protocol_version = *protocol_version;
  out.client_capabilities = *caps;
  out.client_info = *info;
  out.log_level = *level;
  for (const auto& uri : *subs) {
    if (!uri.is_string()) return std::nullopt;
    out.subscriptions.push_back(uri.get_ref<const std::string&>());
  }
  out.created = *created;
  out.expires = *expires;
  return out;
}

}  // namespace

std::string seal_session(const key_ring& keys, const sealed_session& state, bool* trimmed) {
  if (trimmed != nullptr) *trimmed = false;
  auto j = to_json(state);
  auto token = keys.seal(session_purpose, j.dump());
  if (token.size() <= max_session_token) return token;
  if (trimmed != nullptr) *trimmed = true;
  json info = json::object();
  for (const auto* key : {"name", "version"}) {
    if (const auto* v = protocol::member(state.client_info, key); v != nullptr && v->is_string()) info[key] = *v;
  }
  j["i"] = std::move(info);
  if (j["c"].is_object()) j["c"].erase("experimental");
  token = keys.seal(session_purpose, j.dump());
  if (token.size() <= max_session_token) return token;
  j["s"] = json::array();
  token = keys.seal(session_purpose, j.dump());
  return token.size() <= max_session_token ? token : std::string();
}

opened_session open_session_token(const key_ring& keys, std::string_view token, std::int64_t now) {
  opened_session out;
  auto opened = keys.open(session_purpose, token);
  out.key_id = opened.key_id;
  if (!opened.plaintext) {
    out.problem = to_string(opened.why);
    return out;
  }
  const auto parsed = protocol::parse_json(*opened.plaintext, max_sealed_depth);
  auto state = parsed.ok() ? from_json(parsed.value) : std::nullopt;
  if (!state) {
    out.problem = "sealed state unreadable";
    return out;
  }
  if (now >= state->expires) {
    out.expired = true;
    out.problem = "expired";
    return out;
  }
  out.state = std::move(state);
  return out;
}

bool looks_sealed(std::string_view token) {
  return token.size() > session_purpose.size() + 1 && token.substr(0, session_purpose.size()) == session_purpose &&
         token[session_purpose.size()] == '.';
}

std::string route_prefix(const key_ring& keys, std::string_view address, std::string_view instance) {
  const json j{{"a", address}, {"n", instance}};
  return keys.seal(route_purpose, j.dump());
}

std::optional<reply_route> open_route(const key_ring& keys, std::string_view id) {
  const auto last = id.rfind(':');
  if (last == std::string_view::npos || last == 0) return std::nullopt;
  const auto middle = id.rfind(':', last - 1);
  if (middle == std::string_view::npos) return std::nullopt;
  reply_route out;
  const auto number = id.substr(last + 1);
  const auto [end, error] = std::from_chars(number.data(), number.data() + number.size(), out.id);
  if (number.empty() || error != std::errc{} || end != number.data() + number.size()) return std::nullopt;
  out.channel = std::string(id.substr(middle + 1, last - middle - 1));
  const auto opened = keys.open(route_purpose, id.substr(0, middle));
  if (!opened.plaintext) return std::nullopt;
  const auto parsed = protocol::parse_json(*opened.plaintext, max_sealed_depth);
  if (!parsed.ok()) return std::nullopt;
  const auto address = protocol::string_member(parsed.value, "a");
  const auto instance = protocol::string_member(parsed.value, "n");
  if (!address || !instance) return std::nullopt;
  out.address = *address;
  out.instance = *instance;
  return out;
}

std::string seal_ended_notice(const key_ring& keys, const ended_notice& notice) {
  const json j{{"sid", notice.sid}, {"e", notice.expires}};
  return keys.seal(ended_purpose, j.dump());
}

std::optional<ended_notice> open_ended_notice(const key_ring& keys, std::string_view token) {
  const auto opened = keys.open(ended_purpose, token);
  if (!opened.plaintext) return std::nullopt;
  const auto parsed = protocol::parse_json(*opened.plaintext, max_sealed_depth);
  if (!parsed.ok()) return std::nullopt;
  const auto sid = protocol::string_member(parsed.value, "sid");
  const auto expires = protocol::integer_member(parsed.value, "e");
  if (!sid || sid->empty() || !expires) return std::nullopt;
  return ended_notice{std::string(*sid), *expires};
}

}  // namespace manifold::proxy
