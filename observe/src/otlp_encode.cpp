// The OTLP JSON encoding of spans (pure).
#include <boost/url/parse.hpp>
#include <array>
#include <charconv>
#include <cmath>

#include "manifold/observe/json_log.hpp"
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

namespace {

// The text writer of encode_otlp_text: the same document, written straight into one string.
class otlp_writer {
 public:
  explicit otlp_writer(std::string& out) : out_(out) {}

  void string(std::string_view text) {
    out_ += '"';
    append_json_escaped(text, out_);
    out_ += '"';
  }
  void key(std::string_view k) {
    string(k);
    out_ += ':';
  }
  void value(const attribute_value& v) {
    std::visit(
        [this](const auto& x) {
          using T = std::decay_t<decltype(x)>;
          if constexpr (std::is_same_v<T, std::string>) {
            out_ += R"({"stringValue":)";
            string(x);
          } else if constexpr (std::is_same_v<T, std::int64_t>) {
            out_ += R"({"intValue":")";
            out_ += std::to_string(x);
            out_ += '"';
          } else if constexpr (std::is_same_v<T, bool>) {
            out_ += x ? R"({"boolValue":true)" : R"({"boolValue":false)";
          } else {
            out_ += R"({"doubleValue":)";
            if (std::isnan(x)) {
              out_ += R"("NaN")";
            } else if (std::isinf(x)) {
              out_ += x > 0 ? R"("Infinity")" : R"("-Infinity")";
            } else {
              std::array<char, 32> digits{};
              const auto [end, ec] = std::to_chars(digits.data(), digits.data() + digits.size(), x);
              out_.append(digits.data(), ec == std::errc() ? end : digits.data());
            }
          }
          out_ += '}';
        },
        v);
  }
  void attribute(std::string_view k, const attribute_value& v) {
    out_ += R"({"key":)";
    string(k);
    out_ += R"(,"value":)";
    value(v);
    out_ += '}';
  }
  void hex_field(std::string_view k, const std::string& hex) {
    key(k);
    out_ += '"';
    out_ += hex;
    out_ += '"';
  }
  void number_field(std::string_view k, std::uint64_t n, bool quoted) {
    key(k);
    if (quoted) out_ += '"';
    out_ += std::to_string(n);
    if (quoted) out_ += '"';
  }

  void span(const observe::span& s) {
    out_ += '{';
    hex_field("traceId", s.trace.hex());
    out_ += ',';
    hex_field("spanId", s.id.hex());
    if (s.parent.valid()) {
      out_ += ',';
      hex_field("parentSpanId", s.parent.hex());
    }
    if (!s.tracestate.empty()) {
      out_ += ',';
      key("traceState");
      string(s.tracestate);
    }
    out_ += ',';
    number_field("flags", s.flags, false);
    out_ += ',';
    key("name");
    string(s.name);
    out_ += ',';
    number_field("kind", static_cast<std::uint64_t>(s.kind), false);
    out_ += ',';
    number_field("startTimeUnixNano", s.start_unix_nanos, true);
    out_ += ',';
    number_field("endTimeUnixNano", s.end_unix_nanos, true);
    out_ += R"(,"attributes":[)";
    for (std::size_t i = 0; i < s.attributes.size(); ++i) {
      if (i != 0) out_ += ',';
      attribute(s.attributes[i].key, s.attributes[i].value);
    }
    out_ += ']';
    if (!s.links.empty()) {
      out_ += R"(,"links":[)";
      for (std::size_t i = 0; i < s.links.size(); ++i) {
        const auto& c = s.links[i].context;
        out_ += i != 0 ? ",{" : "{";
        hex_field("traceId", c.trace.hex());
        out_ += ',';
        hex_field("spanId", c.span.hex());
        if (!c.tracestate.empty()) {
          out_ += ',';
          key("traceState");
          string(c.tracestate);
        }
        out_ += ',';
        number_field("flags", c.flags, false);
        out_ += '}';
      }
      out_ += ']';
    }
    if (s.error) {
      out_ += R"(,"status":{"code":2)";  // STATUS_CODE_ERROR
      if (!s.status_message.empty()) {
        out_ += ',';
        key("message");
        string(s.status_message);
      }
      out_ += '}';
    }
    out_ += '}';
  }

 private:
  std::string& out_;
};

}  // namespace

std::string encode_otlp_text(std::span<const span> spans, const otlp_resource& resource) {
  std::string out;
  out.reserve(256 + spans.size() * 640);
  otlp_writer w(out);
  out += R"({"resourceSpans":[{"resource":{"attributes":[)";
  w.attribute("service.name", resource.service_name);
  if (!resource.service_version.empty()) {
    out += ',';
    w.attribute("service.version", resource.service_version);
  }
  if (!resource.instance_id.empty()) {
    out += ',';
    w.attribute("service.instance.id", resource.instance_id);
  }
  out += R"(]},"scopeSpans":[{"scope":{"name":"manifold")";
  if (!resource.service_version.empty()) {
    out += ',';
    w.key("version");
    w.string(resource.service_version);
  }
  out += R"(},"spans":[)";
  for (std::size_t i = 0; i < spans.size(); ++i) {
    if (i != 0) out += ',';
    w.span(spans[i]);
  }
  out += "]}]}]}";
  return out;
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
