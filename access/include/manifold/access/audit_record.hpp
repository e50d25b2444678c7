#pragma once

#include <chrono>
#include <cstddef>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/access/principal.hpp"
#include "manifold/access/redactor.hpp"
#include "manifold/config/config.hpp"

namespace manifold::access {

enum class audit_outcome { ok, is_error, error, timeout, refused, rate_limited, cancelled };

// "ok", "isError", "error", "timeout", "refused", "rate_limited", "cancelled".
std::string_view to_string(audit_outcome outcome);

// One audited request, filled in by the proxy as the request completes.
struct audit_record {
  std::chrono::system_clock::time_point time = std::chrono::system_clock::now();
  std::string principal;
  std::vector<std::string> roles;
  auth_method auth = auth_method::anonymous;
  std::string session;
  std::string method;    // JSON-RPC method: tools/call, prompts/get, resources/read...
  std::string name;      // exposed tool/prompt name or resource URI
  std::string upstream;  // the server that owns it (empty when refused before routing)
  std::string original;  // its name there
  bool allowed = true;   // the access decision
  std::string rule;      // the rule (or "visibility", "rate_limit:<scope>") behind a refusal
  audit_outcome outcome = audit_outcome::ok;
  std::optional<int> error_code;  // the JSON-RPC error code, for outcome error
  double latency_ms = 0;
  std::size_t bytes_in = 0;
  std::size_t bytes_out = 0;
  nlohmann::json arguments;  // as received; recorded per the audit mode
};

// RFC 3339 in UTC with milliseconds: 2026-08-22T10:15:30.123Z.
std::string rfc3339_ms(std::chrono::system_clock::time_point time);

// The record as an audit line's JSON (without `prev`), arguments recorded per `mode`:
// none (absent), keys (the top-level argument names), redacted (values with secrets
// replaced), full (as received, registered secrets still removed).
nlohmann::ordered_json audit_json(const audit_record& record, config::audit_arguments mode, const redactor& redaction);

}  // namespace manifold::access
