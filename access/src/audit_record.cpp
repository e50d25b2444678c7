#include "manifold/access/audit_record.hpp"

#include <cstdio>
#include <ctime>

namespace manifold::access {

std::string_view to_string(audit_outcome outcome) {
  switch (outcome) {
    case audit_outcome::is_error:
      return "isError";
    case audit_outcome::error:
      return "error";
    case audit_outcome::timeout:
      return "timeout";
    case audit_outcome::refused:
      return "refused";
    case audit_outcome::rate_limited:
      return "rate_limited";
    case audit_outcome::cancelled:
      return "cancelled";
    case audit_outcome::ok:
      break;
  }
  return "ok";
}

std::string rfc3339_ms(std::chrono::system_clock::time_point time) {
  const auto since = time.time_since_epoch();
  const auto seconds = std::chrono::floor<std::chrono::seconds>(since);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since - seconds).count();
  const std::time_t t = static_cast<std::time_t>(seconds.count());
  std::tm utc{};
  gmtime_r(&t, &utc);
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(ms));
  return buffer;
}

nlohmann::ordered_json audit_json(const audit_record& record, config::audit_arguments mode, const redactor& redaction) {
  nlohmann::ordered_json out;
  out["time"] = rfc3339_ms(record.time);
  out["principal"] = redaction.scrub_text(record.principal);
  out["auth"] = to_string(record.auth);
  out["roles"] = record.roles;
  out["session"] = record.session;
  out["method"] = record.method;
  out["name"] = redaction.scrub_text(record.name);
  if (!record.upstream.empty()) {
    out["upstream"] = record.upstream;
    out["original"] = record.original;
  }
  out["decision"] = record.allowed ? "allow" : "deny";
  if (!record.rule.empty()) out["rule"] = record.rule;
  out["outcome"] = to_string(record.outcome);
  if (record.error_code) out["error_code"] = *record.error_code;
  out["latency_ms"] = static_cast<double>(static_cast<long long>(record.latency_ms * 1000.0)) / 1000.0;
  out["bytes_in"] = record.bytes_in;
  out["bytes_out"] = record.bytes_out;
  switch (mode) {
    case config::audit_arguments::none:
      break;
    case config::audit_arguments::keys: {
      auto keys = nlohmann::json::array();
      if (record.arguments.is_object()) {
        for (const auto& [key, value] : record.arguments.items()) keys.push_back(redaction.scrub_text(key));
      }
      out["arguments"] = std::move(keys);
      break;
    }
    case config::audit_arguments::redacted:
      out["arguments"] = redaction.redact(record.arguments);
      break;
    case config::audit_arguments::full:
      out["arguments"] = redaction.scrub(record.arguments);
      break;
  }
  return out;
}

}  // namespace manifold::access
