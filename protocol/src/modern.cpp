#include "manifold/protocol/modern.hpp"

#include <algorithm>
#include <array>

#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/protocol_version.hpp"
#include "manifold/protocol/text.hpp"

namespace manifold::protocol::modern {

json supported_versions() { return json::array({std::string(version)}); }

bool rejection_offers_modern(const rpc_error& error) {
  if (error.code != error_code::unsupported_protocol_version || !error.data) return false;
  const auto* supported = array_member(*error.data, "supported");
  if (supported == nullptr) return false;
  return std::any_of(supported->begin(), supported->end(), [](const json& v) { return v.is_string() && v == version; });
}

bool claims_modern(const json& params) {
  const auto* meta = object_member(params, "_meta");
  return meta != nullptr && member(*meta, protocol_version_key) != nullptr;
}

bool is_modern_header(std::string_view header) {
  return !header.empty() && !is_supported_version(header);
}

namespace {

rpc_error envelope_error(std::string message, json detail) {
  return {error_code::invalid_params, "Invalid params: " + std::move(message),
          json{{"envelope", std::move(detail)}}};
}

}  // namespace

envelope_check check_envelope(const json& params) {
  const auto* meta = object_member(params, "_meta");
  if (meta == nullptr) {
    return {std::nullopt, envelope_error("the request is missing the per-request envelope (_meta)",
                                         {{"missing", json::array({"_meta"})}})};
  }
  json missing = json::array();
  if (member(*meta, protocol_version_key) == nullptr) missing.push_back(protocol_version_key);
  if (member(*meta, client_capabilities_key) == nullptr) missing.push_back(client_capabilities_key);
  if (!missing.empty()) {
    return {std::nullopt,
            envelope_error("the request is missing required envelope key(s) in _meta", {{"missing", missing}})};
  }
  const auto requested = string_member(*meta, protocol_version_key);
  if (!requested) {
    return {std::nullopt, envelope_error(std::string(protocol_version_key) + " must be a string",
                                         {{"key", protocol_version_key}, {"problem", "not a string"}})};
  }
  const auto* capabilities = object_member(*meta, client_capabilities_key);
  if (capabilities == nullptr) {
    return {std::nullopt, envelope_error(std::string(client_capabilities_key) + " must be an object",
                                         {{"key", client_capabilities_key}, {"problem", "not an object"}})};
  }
  const auto* info = member(*meta, client_info_key);
  if (info != nullptr && !info->is_object()) {
    return {std::nullopt, envelope_error(std::string(client_info_key) + " must be an object",
                                         {{"key", client_info_key}, {"problem", "not an object"}})};
  }
  std::optional<std::string> level;
  if (member(*meta, log_level_key) != nullptr) {
    const auto l = string_member(*meta, log_level_key);
    if (!l) {
      return {std::nullopt, envelope_error(std::string(log_level_key) + " must be a string",
                                           {{"key", log_level_key}, {"problem", "not a string"}})};
    }
    level = std::string(*l);
  }
  if (*requested != version) {
    return {std::nullopt,
            rpc_error{error_code::unsupported_protocol_version,
                      "Unsupported protocol version: " + std::string(*requested),
                      json{{"supported", supported_versions()}, {"requested", *requested}}}};
  }
  envelope out;
  out.protocol_version = std::string(*requested);
  out.client_capabilities = *capabilities;
  if (info != nullptr) out.client_info = *info;
  out.log_level = std::move(level);
  return {std::move(out), std::nullopt};
}

bool is_modern_method(std::string_view method) {
  static constexpr std::array<std::string_view, 10> methods{
      "server/discover", "tools/list",     "tools/call",      "prompts/list",
      "prompts/get",     "resources/list", "resources/read",  "resources/templates/list",
      "completion/complete", "subscriptions/listen"};
  for (const auto m : methods) {
    if (m == method) return true;
  }
  return false;
}

void strip_envelope(json& params) {
  auto* meta = member(params, "_meta");
  if (meta == nullptr || !meta->is_object()) return;
  for (const auto key : {protocol_version_key, client_capabilities_key, client_info_key, log_level_key}) {
    meta->erase(std::string(key));
  }
  if (meta->empty()) params.erase("_meta");
}

namespace {

int base64_value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

std::optional<std::string> decode_base64(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::string out;
  std::uint32_t bits = 0;
  int count = 0;
  std::size_t padding = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '=') {
      // Only at the end, at most two.
      if (i + 2 < text.size()) return std::nullopt;
      ++padding;
      bits <<= 6;
    } else {
      if (padding > 0) return std::nullopt;
      const int v = base64_value(c);
      if (v < 0) return std::nullopt;
      bits = (bits << 6) | static_cast<std::uint32_t>(v);
    }
    if (++count == 4) {
      out.push_back(static_cast<char>((bits >> 16) & 0xff));
      out.push_back(static_cast<char>((bits >> 8) & 0xff));
      out.push_back(static_cast<char>(bits & 0xff));
      bits = 0;
      count = 0;
    }
  }
  if (padding > 2) return std::nullopt;
  out.resize(out.size() - padding);
  return out;
}

}  // namespace

std::optional<std::string> decode_header_value(std::string_view raw) {
  while (!raw.empty() && (raw.front() == ' ' || raw.front() == '\t')) raw.remove_prefix(1);
  while (!raw.empty() && (raw.back() == ' ' || raw.back() == '\t')) raw.remove_suffix(1);
  constexpr std::string_view prefix = "=?base64?";
  constexpr std::string_view suffix = "?=";
  if (raw.size() >= prefix.size() + suffix.size() && raw.substr(0, prefix.size()) == prefix &&
      raw.substr(raw.size() - suffix.size()) == suffix) {
    return decode_base64(raw.substr(prefix.size(), raw.size() - prefix.size() - suffix.size()));
  }
  return std::string(raw);
}

rpc_error header_disagrees(std::string_view header, std::string_view sent, std::string_view body) {
  return {error_code::header_mismatch,
          "Header mismatch: " + std::string(header) + " header value '" + std::string(sent) +
              "' does not match body value '" + std::string(body) + "'",
          json{{"mismatch", {{"header", header}, {"value", sent}, {"body", body}}}}};
}

std::string encode_header_value(std::string_view value) {
  const bool plain = !value.empty() && value.front() != ' ' && value.back() != ' ' &&
                     std::all_of(value.begin(), value.end(), [](char c) { return c >= 0x20 && c < 0x7f; }) &&
                     value.substr(0, 9) != "=?base64?";
  if (plain) return std::string(value);
  return "=?base64?" + base64_encode(value) + "?=";
}

namespace {

// The body field Mcp-Name carries for `method`; null for methods without one.
const char* named_field(std::string_view method) {
  if (method == "tools/call" || method == "prompts/get") return "name";
  if (method == "resources/read") return "uri";
  return nullptr;
}

}  // namespace

standard_headers headers_for(std::string_view method, const json& params) {
  standard_headers out;
  const auto* meta = object_member(params, "_meta");
  out.protocol_version = meta != nullptr ? string_or(*meta, protocol_version_key, version) : std::string(version);
  out.method = std::string(method);
  if (const char* named = named_field(method)) {
    if (const auto value = string_member(params, named)) out.name = encode_header_value(*value);
  }
  return out;
}

std::optional<rpc_error> check_headers(const standard_headers& headers, std::string_view method,
                                       const json& params) {
  const auto* meta = object_member(params, "_meta");
  const auto body_version = meta != nullptr ? string_or(*meta, protocol_version_key) : std::string();
  const auto sent_version = headers.protocol_version.value_or("(absent)");
  if (!headers.protocol_version || *headers.protocol_version != body_version) {
    return header_disagrees("MCP-Protocol-Version", sent_version, body_version);
  }
  if (!headers.method || *headers.method != method) {
    return header_disagrees("Mcp-Method", headers.method.value_or("(absent)"), method);
  }
  if (const char* named = named_field(method)) {
    const auto body = string_or(params, named);
    if (!headers.name) return header_disagrees("Mcp-Name", "(absent)", body);
    const auto decoded = decode_header_value(*headers.name);
    if (!decoded || *decoded != body) return header_disagrees("Mcp-Name", *headers.name, body);
  }
  return std::nullopt;
}

}  // namespace manifold::protocol::modern
