// The OTLP JSON encoding of spans (pure).
#include <boost/url/parse.hpp>
#include <cmath>

#include "manifold/observe/otlp_exporter.hpp"

namespace manifold::observe {

namespace {

using json = nlohmann::json;

json any_value(const attribute_value& value) {
  return std::visit(
      [](const auto& v) -> json {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          return {{"stringValue", v}};
        } else if constexpr (std::is_same_v<T, std::int64_t>) {
          return {{"intValue", std::to_string(v)}};
        } else if constexpr (std::is_same_v<T, bool>) {
          return {{"boolValue", v}};
        } else {
          if (std::isnan(v)) return {{"doubleValue", "NaN"}};
          if (std::isinf(v)) return {{"doubleValue", v > 0 ? "Infinity" : "-Infinity"}};
          return {{"doubleValue", v}};
        }
      },
      value);
}

json key_value(const std::string& key, const attribute_value& value) {
  return {{"key", key}, {"value", any_value(value)}};
}

json encode_span(const span& s) {
  json out{{"traceId", s.trace.hex()}, {"spanId", s.id.hex()}};
  if (s.parent.valid()) out["parentSpanId"] = s.parent.hex();
  if (!s.tracestate.empty()) out["traceState"] = s.tracestate;
  out["flags"] = s.flags;
  out["name"] = s.name;
  out["kind"] = static_cast<int>(s.kind);
  out["startTimeUnixNano"] = std::to_string(s.start_unix_nanos);
  out["endTimeUnixNano"] = std::to_string(s.end_unix_nanos);
  json attributes = json::array();
  for (const auto& a : s.attributes) attributes.push_back(key_value(a.key, a.value));
  out["attributes"] = std::move(attributes);
  if (!s.links.empty()) {
    json links = json::array();
    for (const auto& l : s.links) {
      json link{{"traceId", l.context.trace.hex()}, {"spanId", l.context.span.hex()}};
      if (!l.context.tracestate.empty()) link["traceState"] = l.context.tracestate;
      link["flags"] = l.context.flags;
      links.push_back(std::move(link));
    }
    out["links"] = std::move(links);
  }
  if (s.error) {
    json status{{"code", 2}};  // STATUS_CODE_ERROR
    if (!s.status_message.empty()) status["message"] = s.status_message;
    out["status"] = std::move(status);
  }
  return out;
}

}  // namespace

nlohmann::json encode_otlp(std::span<const span> spans, const otlp_resource& resource) {
  json attributes = json::array();
  attributes.push_back(key_value("service.name", resource.service_name));
  if (!resource.service_version.empty()) {
    attributes.push_back(key_value("service.version", resource.service_version));
  }
  if (!resource.instance_id.empty()) {
    attributes.push_back(key_value("service.instance.id", resource.instance_id));
  }
  json scope{{"name", "manifold"}};
  if (!resource.service_version.empty()) scope["version"] = resource.service_version;
  json encoded = json::array();
  for (const auto& s : spans) encoded.push_back(encode_span(s));
  return {{"resourceSpans",
           json::array({{{"resource", {{"attributes", std::move(attributes)}}},
                         {"scopeSpans", json::array({{{"scope", std::move(scope)},
                                                      {"spans", std::move(encoded)}}})}}})}};
}

std::optional<otlp_endpoint> parse_otlp_endpoint(const std::string& url, std::string& error) {
  const auto parsed = boost::urls::parse_uri(url);
  if (!parsed) {
    error = "not a URL: " + url;
    return std::nullopt;
  }
  otlp_endpoint out;
  const auto scheme = parsed->scheme();
  if (scheme != "http" && scheme != "https") {
    error = "the OTLP endpoint must be http:// or https://: " + url;
    return std::nullopt;
  }
  out.tls = scheme == "https";
  out.host = std::string(parsed->encoded_host());
  if (out.host.empty()) {
    error = "the OTLP endpoint has no host: " + url;
    return std::nullopt;
  }
  if (out.host.size() > 2 && out.host.front() == '[' && out.host.back() == ']') {
    out.host = out.host.substr(1, out.host.size() - 2);  // IPv6 literal: the resolver wants it bare
  }
  out.port = parsed->has_port() ? std::string(parsed->port()) : (out.tls ? "443" : "80");
  std::string path(parsed->encoded_path());
  if (path.empty() || path == "/") path = "/v1/traces";
  out.target = path;
  if (parsed->has_query()) out.target += "?" + std::string(parsed->encoded_query());
  return out;
}

}  // namespace manifold::observe
