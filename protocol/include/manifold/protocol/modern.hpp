#pragma once

// MCP 2026-07-28, the stateless revision: each request carries its protocol version, client
// capabilities and client info in `params._meta` (the envelope) instead of an `initialize`
// handshake. What both sides of manifold need to tell the eras apart and check an envelope.

#include <optional>
#include <string>
#include <string_view>

#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/json_rpc.hpp"

namespace manifold::protocol::modern {

inline constexpr std::string_view version = "2026-07-28";

// Envelope and result `_meta` keys.
inline constexpr std::string_view protocol_version_key = "io.modelcontextprotocol/protocolVersion";
inline constexpr std::string_view client_capabilities_key = "io.modelcontextprotocol/clientCapabilities";
inline constexpr std::string_view client_info_key = "io.modelcontextprotocol/clientInfo";
inline constexpr std::string_view log_level_key = "io.modelcontextprotocol/logLevel";
inline constexpr std::string_view server_info_key = "io.modelcontextprotocol/serverInfo";
inline constexpr std::string_view subscription_id_key = "io.modelcontextprotocol/subscriptionId";

// Bounds on one multi-round-trip request, the same whichever side of manifold asks: an
// upstream's input_required answered by the host, and a bridged call whose handshake-era
// upstream asks the host through InputRequiredResults.
inline constexpr std::size_t max_input_rounds = 10;    // InputRequiredResults for one request
inline constexpr std::size_t max_input_requests = 16;  // inputRequests in one round

// The versions a 2026-07-28 request may name (server/discover's `supportedVersions`, and
// -32022's `data.supported`: the two lists must be the same).
json supported_versions();

// Whether `error` is an UnsupportedProtocolVersion error (-32022) whose `data.supported`
// names 2026-07-28: the server speaks this revision and the request may be sent again.
bool rejection_offers_modern(const rpc_error& error);

// Whether `params` claims the modern era (its `_meta` names a protocol version).
bool claims_modern(const json& params);

// Whether an MCP-Protocol-Version header value names the modern era: 2026-07-28, or any
// version that is not one of the handshake-era revisions (a later one, or garbage the
// envelope check then refuses).
bool is_modern_header(std::string_view header);

// A checked envelope: the version it names, the client's capabilities (an object) and info.
struct envelope {
  std::string protocol_version;
  json client_capabilities = json::object();
  json client_info;  // null when the client sent none (allowed)
  std::optional<std::string> log_level;
};

struct envelope_check {
  std::optional<envelope> ok;
  std::optional<rpc_error> error;  // -32602 (missing or malformed key) or -32022
};

// Reads the envelope of a modern request: `_meta` with a string protocolVersion and an
// object clientCapabilities (-32602 with data {envelope: {missing|key, problem}} otherwise),
// naming a version this side serves (-32022 with data {supported, requested} otherwise).
envelope_check check_envelope(const json& params);

// Methods a 2026-07-28 client may send (extensions aside).
bool is_modern_method(std::string_view method);

// Removes the envelope keys from a request's `_meta` (they describe the hop they came on),
// keeping everything else (progressToken, traceparent, extension keys). Drops `_meta` when
// nothing is left.
void strip_envelope(json& params);

// Decodes an Mcp-Name / Mcp-Param-* header value: surrounding spaces and tabs trimmed, and
// the `=?base64?...?=` sentinel decoded. Nullopt when the sentinel is not valid base64.
std::optional<std::string> decode_header_value(std::string_view raw);

// An Mcp-Name / Mcp-Param-* header value carrying `value`: as it is when it is visible ASCII
// with no space at either end, else the `=?base64?...?=` sentinel (decode_header_value's
// inverse).
std::string encode_header_value(std::string_view value);

// -32020 naming the header, the value sent ("(absent)" when missing) and the body's value.
rpc_error header_disagrees(std::string_view header, std::string_view sent, std::string_view body);

// The standard headers of a 2026-07-28 HTTP request, as received (nullopt when absent).
struct standard_headers {
  std::optional<std::string> protocol_version;  // MCP-Protocol-Version
  std::optional<std::string> method;            // Mcp-Method
  std::optional<std::string> name;              // Mcp-Name
};

// -32020 when the headers disagree with the body: MCP-Protocol-Version must equal the
// envelope's version, Mcp-Method the method, and Mcp-Name (decoded) the `name` of
// tools/call and prompts/get or the `uri` of resources/read.
std::optional<rpc_error> check_headers(const standard_headers& headers, std::string_view method,
                                       const json& params);

// The standard headers a 2026-07-28 request of `method` with `params` sends over HTTP (what
// check_headers accepts): the envelope's version, the method, and for tools/call, prompts/get
// and resources/read the name or URI, encoded.
standard_headers headers_for(std::string_view method, const json& params);

}  // namespace manifold::protocol::modern
