#pragma once

// Private to proxy/: what a replica needs to serve a Streamable HTTP session it never saw,
// sealed into the session's Mcp-Session-Id (http.sessions), and the ids of requests manifold
// sends a host over such a session, which name the replica waiting for the answer.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/protocol/json_access.hpp"
#include "manifold/proxy/key_ring.hpp"

namespace manifold::proxy {

struct sealed_session {
  std::string sid;                  // the session's name on every replica (random, 128 bits)
  std::string principal;            // who opened it; only that principal may use it
  std::string group;                // the endpoint's group ("" for /mcp)
  std::string protocol_version;     // negotiated at initialize
  protocol::json client_capabilities = protocol::json::object();
  protocol::json client_info = protocol::json::object();
  std::string log_level;            // logging/setLevel; empty: never set
  std::vector<std::string> subscriptions;  // exposed URIs
  std::int64_t created = 0;         // Unix seconds
  std::int64_t expires = 0;         // Unix seconds: no replica serves it after this

  bool operator==(const sealed_session&) const = default;
};

// Longest Mcp-Session-Id manifold hands out: proxies and clients limit header lines (nginx's
// default is 8 KiB for the whole line).
inline constexpr std::size_t max_session_token = 4096;

// The token for `state`. What does not fit in max_session_token is left out, in this order:
// clientInfo beyond name and version and experimental capabilities, then subscriptions;
// `trimmed` says whether anything was. Empty when even the rest does not fit.
std::string seal_session(const key_ring& keys, const sealed_session& state, bool* trimmed = nullptr);

struct opened_session {
  std::optional<sealed_session> state;  // set when it opened and has not expired
  bool expired = false;
  std::string key_id;  // the key that sealed it
  std::string problem;  // why it did not open, for the log
};
// Opens an Mcp-Session-Id at Unix time `now`.
opened_session open_session_token(const key_ring& keys, std::string_view token, std::int64_t now);

// Whether `token` has the form of a sealed session id (it may still not open).
bool looks_sealed(std::string_view token);

// The id of a request manifold sends a host over a sealed session:
//   <prefix>:<channel>:<n>
// where the prefix seals the replica's address and process instance, `channel` names the
// session's channel in that process and n is the session's own request number. Whichever
// replica the host's answer reaches can tell where it belongs, and nobody can make a replica
// send it elsewhere.
struct reply_route {
  std::string address;   // http(s)://host:port of the replica
  std::string instance;  // its process instance
  std::string channel;
  std::int64_t id = 0;
};
std::string route_prefix(const key_ring& keys, std::string_view address, std::string_view instance);
std::optional<reply_route> open_route(const key_ring& keys, std::string_view id);

// What a replica tells the others when a host ends a sealed session (DELETE): the session's
// sid and when its id expires anyway, sealed so that only a holder of the ring can end a
// session elsewhere.
struct ended_notice {
  std::string sid;
  std::int64_t expires = 0;
};
std::string seal_ended_notice(const key_ring& keys, const ended_notice& notice);
std::optional<ended_notice> open_ended_notice(const key_ring& keys, std::string_view token);

}  // namespace manifold::proxy
