// One call of a REST tool: the URL is built from the pack's base and the tool's templates
// with every parameter value percent-encoded (a value can never add a path segment, a query
// parameter or a fragment), credentials are read at call time, and the response is
// projected to the fields the pack names.
#include <spdlog/spdlog.h>

#include <boost/url/encode.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/rfc/unreserved_chars.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "http_client.hpp"
#include "manifold/config/argv_template.hpp"
#include "manifold/exec/output_buffer.hpp"
#include "manifold/exec/render.hpp"
#include "manifold/protocol/json_access.hpp"
#include "server_parts.hpp"

namespace manifold::exec::detail {

namespace asio = boost::asio;
namespace urls = boost::urls;

namespace {

constexpr std::size_t max_projected_depth = 64;

std::string encoded(const std::string& value) {
  return urls::encode(value, urls::unreserved_chars);
}

// Fills `text`'s slots with encoded values. nullopt (with `error` empty) when a slot's
// parameter is absent; `error` set when a value may not be used.
std::optional<std::string> fill(const std::string& text, const json& values, std::string& error) {
  const auto parsed = config::parse_template(text);
  if (!parsed.error.empty()) {
    error = parsed.error;
    return std::nullopt;
  }
  std::string out;
  for (const auto& piece : parsed.pieces) {
    if (!piece.slot) {
      out += piece.text;
      continue;
    }
    const auto it = values.find(piece.text);
    if (it == values.end() || it->is_null()) return std::nullopt;
    const auto raw = slot_text(*it);
    if (raw == "." || raw == "..") {
      error = "parameter `" + piece.text + "` may not be `.` or `..`";
      return std::nullopt;
    }
    out += encoded(raw);
  }
  return out;
}

// The request target: base path + path template, then the query entries whose slots are
// all present. Empty with `error` set when refused.
std::string target_of(const urls::url_view& base, const config::http_tool_spec& spec,
                      const json& values, std::string& error) {
  auto path = fill(spec.path, values, error);
  if (!path) {
    if (error.empty()) error = "a parameter of the path is missing";
    return {};
  }
  std::string prefix(base.encoded_path());
  while (!prefix.empty() && prefix.back() == '/') prefix.pop_back();
  std::string target = prefix + *path;
  char sep = '?';
  for (const auto& [name, value] : spec.query) {
    auto v = fill(value, values, error);
    if (!error.empty()) return {};
    if (!v) continue;
    target += sep + encoded(name) + "=" + *v;
    sep = '&';
  }
  if (!urls::parse_origin_form(target)) {
    error = "the request target is not valid";
    return {};
  }
  return target;
}

// A JSON body template: a string that is exactly "{{p}}" becomes p's value (and its member
// is left out when p is absent); other strings get their slots filled as text.
json fill_body(const json& node, const json& values, bool& absent) {
  absent = false;
  if (node.is_object() || node.is_array()) {
    json out = node.is_object() ? json::object() : json::array();
    for (auto it = node.begin(); it != node.end(); ++it) {
      bool gone = false;
      auto v = fill_body(*it, values, gone);
      if (gone) continue;
      if (node.is_object()) {
        out[it.key()] = std::move(v);
      } else {
        out.push_back(std::move(v));
      }
    }
    return out;
  }
  if (!node.is_string()) return node;
  const auto parsed = config::parse_template(node.get<std::string>());
  if (parsed.pieces.size() == 1 && parsed.pieces[0].slot) {
    const auto it = values.find(parsed.pieces[0].text);
    absent = it == values.end() || it->is_null();
    return absent ? json() : *it;
  }
  std::string out;
  for (const auto& piece : parsed.pieces) {
    if (!piece.slot) {
      out += piece.text;
    } else if (const auto it = values.find(piece.text); it != values.end()) {
      out += slot_text(*it);
    }
  }
  return out;
}

// A credential's value now: the environment variable, or the file's first line.
std::optional<std::string> secret(const config::http_credential& c, std::string& error) {
  std::string value;
  if (!c.env.empty()) {
    const char* v = std::getenv(c.env.c_str());  // NOLINT(concurrency-mt-unsafe): read-only use
    if (v == nullptr || *v == '\0') {
      error = "the credential variable " + c.env + " is not set";
      return std::nullopt;
    }
    value = v;
  } else {
    std::ifstream in(c.file);
    if (!in || !std::getline(in, value)) {
      error = "cannot read the credential file " + c.file;
      return std::nullopt;
    }
  }
  while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
  if (value.find_first_of("\r\n") != std::string::npos) {
    error = "a credential holds a line break";
    return std::nullopt;
  }
  return c.prefix + value;
}

json project(const json& body, const config::http_tool_spec& spec) {
  if (spec.project.empty()) return body.is_object() ? body : json{{"items", body}};
  json out = json::object();
  for (const auto& [field, pointer] : spec.project) {
    try {
      const json::json_pointer p(pointer);
      out[field] = body.contains(p) ? body.at(p) : json();
    } catch (const std::exception&) {
      out[field] = nullptr;
    }
  }
  return out;
}

json response_result(const config::exec_tool& tool, const http_response& res) {
  bool ok = res.status >= 200 && res.status < 300;
  std::string note;
  for (const auto& rule : tool.http.status) {
    if (rule.code == res.status) {
      ok = rule.ok;
      note = rule.note;
    }
  }
  json result{{"content", json::array()}, {"isError", !ok}};
  json meta{{"status", res.status}, {"response_bytes", res.body.size()}};
  auto parsed = protocol::parse_json(res.body, max_projected_depth);
  const auto status_line = "HTTP " + std::to_string(res.status) + (note.empty() ? "" : ": " + note);
  if (ok && parsed.ok()) {
    auto projected = project(parsed.value, tool.http);
    output_buffer text(tool.output.max_bytes, config::keep_part::head);
    text.append(projected.dump(1, ' ', false, json::error_handler_t::replace));
    result["content"].push_back({{"type", "text"}, {"text", text.text()}});
    result["structuredContent"] = std::move(projected);
    if (!note.empty())
      result["content"].push_back({{"type", "text"}, {"text", "[manifold] " + status_line}});
  } else {
    output_buffer text(ok ? tool.output.max_bytes : 2048, config::keep_part::head);
    text.append(res.body);
    result["content"].push_back({{"type", "text"}, {"text", status_line}});
    if (!res.body.empty()) result["content"].push_back({{"type", "text"}, {"text", text.text()}});
    if (ok)
      result["content"].push_back(
          {{"type", "text"},
           {"text", "[manifold] the response is not JSON (" + parsed.why() + ")"}});
  }
  result["_meta"]["manifold/exec"] = std::move(meta);
  return result;
}

}  // namespace

asio::awaitable<json> run_http_tool(const compiled_tool& tool, const json& arguments,
                                    call_context& ctx) {
  const auto& cfg = *tool.cfg;
  const auto& server = ctx.exec->http;
  auto checked = tool.args.check(arguments);
  if (!checked.ok()) co_return refused(checked.error);
  const auto base = urls::parse_uri(server.base_url);
  if (!base) co_return failed("the pack's base_url is not a valid URL");
  http_request req;
  req.method = cfg.http.method;
  req.tls = base->scheme() == "https";
  req.host = std::string(base->encoded_host());
  req.port = base->has_port() ? std::string(base->port()) : (req.tls ? "443" : "80");
  std::string error;
  req.target = target_of(*base, cfg.http, checked.values, error);
  if (!error.empty()) co_return refused(error);
  for (const auto& [name, value] : server.headers) req.headers.emplace_back(name, value);
  for (const auto& [name, value] : cfg.http.headers) req.headers.emplace_back(name, value);
  for (const auto& c : server.credentials) {
    auto value = secret(c, error);
    if (!value) co_return failed(error);
    req.headers.emplace_back(c.header, std::move(*value));
  }
  if (!cfg.http.body.is_null()) {
    bool absent = false;
    req.body = fill_body(cfg.http.body, checked.values, absent)
                   .dump(-1, ' ', false, json::error_handler_t::replace);
  }
  req.ca_file = server.ca_file;
  req.timeout = cfg.timeout;
  req.read_limit = std::max<std::size_t>(cfg.output.max_bytes * 8, 1024 * 1024);
  spdlog::info("[{}] {}: {} {}://{}:{}{}", ctx.server, cfg.name, req.method,
               req.tls ? "https" : "http", req.host, req.port,
               cfg.sensitive ? std::string("<path>") : req.target);
  const auto res = co_await send_request(ctx.executor, std::move(req), ctx.control);
  json result;
  if (res.cancelled) {
    result = failed("cancelled");
  } else if (!res.error.empty()) {
    result = failed("the request to the API failed: " + res.error);
  } else {
    result = response_result(cfg, res);
  }
  if (cfg.untrusted_output) mark_untrusted(result, cfg.name);
  co_return result;
}

}  // namespace manifold::exec::detail
