#pragma once

// Every JSON-RPC error code manifold sends or interprets, in one place.
namespace manifold::protocol::error_code {

// JSON-RPC 2.0.
inline constexpr int parse_error = -32700;
inline constexpr int invalid_request = -32600;
inline constexpr int method_not_found = -32601;
inline constexpr int invalid_params = -32602;
inline constexpr int internal_error = -32603;

// Implementation-defined range (-32000..-32019); the same values the TypeScript SDK uses,
// so hosts built on it recognise them.
inline constexpr int connection_closed = -32000;  // the upstream went away mid-request
inline constexpr int request_timeout = -32001;    // the upstream did not answer in time
// A limit was reached (requests in flight, rate, a reply too large); `data` may carry
// `retryAfterMs`.
inline constexpr int limit_exceeded = -32005;

// MCP.
inline constexpr int resource_not_found = -32002;
inline constexpr int url_elicitation_required = -32042;

// MCP 2026-07-28 (stateless requests).
inline constexpr int header_mismatch = -32020;               // HTTP headers disagree with the body
inline constexpr int missing_client_capability = -32021;     // data: {requiredCapabilities}
inline constexpr int unsupported_protocol_version = -32022;  // data: {supported, requested}

}  // namespace manifold::protocol::error_code
