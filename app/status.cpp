// `manifold status --url URL`: what a running manifold says about its upstreams (/readyz).
#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/url/parse.hpp>
#include <iostream>

#include "commands.hpp"
#include "manifold/io/http_client.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/text.hpp"

namespace manifold::app {

namespace asio = boost::asio;
using json = nlohmann::json;

namespace {

std::string pad(std::string s, std::size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

std::string text_of(const json& object, std::string_view key, std::string fallback = "-") {
  const auto* v = protocol::member(object, key);
  if (v == nullptr || v->is_null()) return fallback;
  if (v->is_string()) return v->get<std::string>();
  return v->dump();
}

void print_table(const json& status, const std::string& url) {
  std::cout << "manifold at " << url << ": "
            << (protocol::bool_member(status, "ready").value_or(false) ? "ready" : "NOT READY")
            << ", " << text_of(status, "tools", "0") << " tools, "
            << text_of(status, "prompts", "0") << " prompts, " << text_of(status, "resources", "0")
            << " resources\n";
  const auto* upstreams = protocol::array_member(status, "upstreams");
  if (upstreams == nullptr) return;
  struct column {
    const char* title;
    std::string (*cell)(const json&);
  };
  static const std::vector<column> columns{
      {"UPSTREAM", [](const json& u) { return text_of(u, "name"); }},
      {"STATE", [](const json& u) { return text_of(u, "state"); }},
      {"TRANSPORT", [](const json& u) { return text_of(u, "transport"); }},
      {"TOOLS", [](const json& u) { return text_of(u, "tools", "0"); }},
      {"RESTARTS", [](const json& u) { return text_of(u, "restarts", "0"); }},
      {"BREAKER", [](const json& u) { return text_of(u, "breaker"); }},
      {"PROBE",
       [](const json& u) {
         const auto ms = text_of(u, "probeLatencyMs", "");
         return ms.empty() ? std::string("-") : ms + " ms";
       }},
      {"LAST SUCCESS", [](const json& u) { return text_of(u, "lastSuccess"); }},
      {"LAST ERROR",
       [](const json& u) { return protocol::log_safe(text_of(u, "lastError"), 120); }},
  };
  std::vector<std::vector<std::string>> rows;
  for (const auto& u : *upstreams) {
    std::vector<std::string> row;
    for (const auto& c : columns) row.push_back(c.cell(u));
    rows.push_back(std::move(row));
  }
  std::vector<std::size_t> widths;
  for (std::size_t i = 0; i < columns.size(); ++i) {
    std::size_t w = std::string_view(columns[i].title).size();
    for (const auto& row : rows) w = std::max(w, row[i].size());
    widths.push_back(w);
  }
  for (std::size_t i = 0; i < columns.size(); ++i) {
    std::cout << (i + 1 == columns.size() ? std::string(columns[i].title)
                                          : pad(columns[i].title, widths[i] + 2));
  }
  std::cout << '\n';
  for (const auto& row : rows) {
    for (std::size_t i = 0; i < row.size(); ++i) {
      std::cout << (i + 1 == row.size() ? row[i] : pad(row[i], widths[i] + 2));
    }
    std::cout << '\n';
  }
  for (const auto& u : *upstreams) {
    if (const auto problem = protocol::string_member(u, "problem")) {
      std::cout << "upstream " << text_of(u, "name") << ": " << protocol::log_safe(*problem, 300)
                << '\n';
    }
  }
}

}  // namespace

int run_status(const status_options& options) {
  const auto parsed = boost::urls::parse_uri(options.url);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https")) {
    std::cerr << "--url must be an http(s) URL such as http://127.0.0.1:8080, not `" << options.url
              << "`\n";
    return exit_bad_config;
  }
  io::http_request request;
  request.method = "GET";
  request.tls = parsed->scheme() == "https";
  request.host = std::string(parsed->encoded_host());
  request.port = parsed->has_port() ? std::string(parsed->port()) : (request.tls ? "443" : "80");
  auto path = std::string(parsed->encoded_path());
  while (!path.empty() && path.back() == '/') path.pop_back();
  if (path.size() < 7 || path.compare(path.size() - 7, 7, "/readyz") != 0) path += "/readyz";
  request.target = path;
  request.headers.emplace_back("Accept", "application/json");
  for (const auto& h : options.headers) {
    const auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0) {
      std::cerr << "--header must be `Name: value`, not `" << h << "`\n";
      return exit_bad_config;
    }
    auto value = h.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    request.headers.emplace_back(h.substr(0, colon), value);
  }
  request.timeout = std::chrono::seconds(10);
  request.read_limit = 16 * 1024 * 1024;
  asio::io_context io(1);
  io::http_response response;
  asio::co_spawn(io, io::send_request(io.get_executor(), std::move(request)),
                 [&response](const std::exception_ptr& e, io::http_response r) {
                   if (e) {
                     response.error = "the request failed";
                   } else {
                     response = std::move(r);
                   }
                 });
  io.run();
  if (!response.error.empty()) {
    std::cerr << "cannot read " << options.url << ": " << response.error << '\n';
    return exit_bad_config;
  }
  const auto status = protocol::parse_json(response.body);
  if (!status.ok() || !status.value.is_object()) {
    std::cerr << options.url << " answered HTTP " << response.status
              << " without a status object\n";
    return exit_bad_config;
  }
  if (options.format == "json") {
    std::cout << status.value.dump(2) << '\n';
  } else {
    print_table(status.value, options.url);
  }
  return protocol::bool_member(status.value, "ready").value_or(false) && response.status == 200
             ? exit_ok
             : exit_failure;
}

}  // namespace manifold::app
