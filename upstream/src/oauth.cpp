#include "manifold/upstream/oauth.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <spdlog/spdlog.h>

#include "http_connect.hpp"
#include "manifold/access/jwt_signer.hpp"
#include "manifold/io/event.hpp"
#include "manifold/io/hosts.hpp"
#include "manifold/protocol/text.hpp"

namespace manifold::upstream::oauth {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using std::chrono::milliseconds;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr const char* token_exchange_grant = "urn:ietf:params:oauth:grant-type:token-exchange";

// ---- pure parts ----

namespace {

bool is_token_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

void skip_spaces(std::string_view s, std::size_t& i) {
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
}

std::string origin_of(const boost::urls::url_view& u) {
  std::string out = protocol::lower_ascii(u.scheme()) + "://" + protocol::lower_ascii(u.encoded_host());
  if (u.has_port()) out += ":" + std::string(u.port());
  return out;
}

std::string path_without_trailing_slash(std::string_view path) {
  std::string out(path);
  while (!out.empty() && out.back() == '/') out.pop_back();
  return out;
}

}  // namespace

std::optional<challenge> parse_bearer_challenge(std::string_view header) {
  // challenge = scheme [ 1*SP ( token68 / #auth-param ) ], challenges separated by commas.
  std::size_t i = 0;
  std::optional<challenge> bearer;
  bool in_bearer = false;
  while (i < header.size()) {
    skip_spaces(header, i);
    if (i < header.size() && header[i] == ',') {
      ++i;
      continue;
    }
    const auto start = i;
    while (i < header.size() && is_token_char(header[i])) ++i;
    if (i == start) return bearer;  // not a token: stop at what we have
    const auto word = header.substr(start, i - start);
    skip_spaces(header, i);
    if (i < header.size() && header[i] == '=') {
      // auth-param name=value of the current challenge
      ++i;
      skip_spaces(header, i);
      std::string value;
      if (i < header.size() && header[i] == '"') {
        ++i;
        while (i < header.size() && header[i] != '"') {
          if (header[i] == '\\' && i + 1 < header.size()) ++i;
          value += header[i++];
        }
        if (i < header.size()) ++i;  // closing quote
      } else {
        const auto vstart = i;
        while (i < header.size() && header[i] != ',' && header[i] != ' ') ++i;
        value = std::string(header.substr(vstart, i - vstart));
      }
      if (in_bearer) {
        if (beast::iequals(word, "error")) bearer->error = value;
        else if (beast::iequals(word, "scope")) bearer->scope = value;
        else if (beast::iequals(word, "resource_metadata")) bearer->resource_metadata = value;
      }
      continue;
    }
    // A new challenge's scheme.
    in_bearer = beast::iequals(word, "bearer") && !bearer;
    if (in_bearer) bearer = challenge{};
  }
  return bearer;
}

std::vector<std::string> resource_metadata_urls(const std::string& server_url) {
  const auto u = boost::urls::parse_uri(server_url);
  if (!u) return {};
  const auto origin = origin_of(*u);
  const auto path = path_without_trailing_slash(u->encoded_path());
  std::vector<std::string> out;
  if (!path.empty()) out.push_back(origin + "/.well-known/oauth-protected-resource" + path);
  out.push_back(origin + "/.well-known/oauth-protected-resource");
  return out;
}

std::vector<std::string> authorization_server_metadata_urls(const std::string& issuer) {
  const auto u = boost::urls::parse_uri(issuer);
  if (!u) return {};
  const auto origin = origin_of(*u);
  const auto path = path_without_trailing_slash(u->encoded_path());
  if (path.empty()) {
    return {origin + "/.well-known/oauth-authorization-server", origin + "/.well-known/openid-configuration"};
  }
  return {origin + "/.well-known/oauth-authorization-server" + path,
          origin + "/.well-known/openid-configuration" + path,
          origin + path + "/.well-known/openid-configuration"};
}

bool resource_allowed(const std::string& resource, const std::string& server_url) {
  const auto r = boost::urls::parse_uri(resource);
  const auto s = boost::urls::parse_uri(server_url);
  if (!r || !s || r->has_fragment()) return false;
  if (origin_of(*r) != origin_of(*s)) return false;
  const auto rp = path_without_trailing_slash(r->encoded_path());
  const auto sp = path_without_trailing_slash(s->encoded_path());
  if (rp.empty()) return true;
  return sp == rp || (sp.size() > rp.size() && sp.compare(0, rp.size(), rp) == 0 && sp[rp.size()] == '/');
}

std::vector<std::string> split_scopes(std::string_view scopes) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (i < scopes.size()) {
    while (i < scopes.size() && scopes[i] == ' ') ++i;
    const auto start = i;
    while (i < scopes.size() && scopes[i] != ' ') ++i;
    if (i > start) out.emplace_back(scopes.substr(start, i - start));
  }
  return out;
}

std::string join_scopes(const std::vector<std::string>& scopes) {
  std::string out;
  for (const auto& s : scopes) {
    if (!out.empty()) out += ' ';
    out += s;
  }
  return out;
}

bool scopes_cover(const std::vector<std::string>& granted, const std::vector<std::string>& wanted) {
  return std::all_of(wanted.begin(), wanted.end(), [&](const std::string& w) {
    return std::find(granted.begin(), granted.end(), w) != granted.end();
  });
}

std::vector<std::string> scope_union(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  auto out = a;
  for (const auto& s : b) {
    if (std::find(out.begin(), out.end(), s) == out.end()) out.push_back(s);
  }
  return out;
}

client_auth choose_client_auth(const json& server_metadata, std::string_view registered_method,
                               bool has_secret) {
  const auto supported_it = server_metadata.find("token_endpoint_auth_methods_supported");
  const bool listed = supported_it != server_metadata.end() && supported_it->is_array();
  auto supports = [&](std::string_view m) {
    if (!listed) return m == "client_secret_basic" || m == "none";
    return std::any_of(supported_it->begin(), supported_it->end(),
                       [&](const json& v) { return v.is_string() && v.get<std::string>() == m; });
  };
  auto from_name = [](std::string_view m) {
    return m == "client_secret_basic" ? client_auth::secret_basic
           : m == "client_secret_post" ? client_auth::secret_post
                                       : client_auth::none;
  };
  if (!registered_method.empty() && supports(registered_method) &&
      (registered_method == "none" || has_secret)) {
    return from_name(registered_method);
  }
  if (has_secret) return supports("client_secret_basic") || !supports("client_secret_post") ? client_auth::secret_basic
                                                                                             : client_auth::secret_post;
  return client_auth::none;
}

std::string random_token(std::size_t bytes) {
  return protocol::base64url_encode(protocol::random_bytes(bytes));
}

pkce_pair make_pkce() {
  pkce_pair p;
  p.verifier = random_token(48);  // 64 characters
  p.challenge = protocol::base64url_encode(protocol::sha256(p.verifier));
  return p;
}

// ---- HTTP for the authorization dance ----

namespace {

struct fetch_result {
  unsigned status = 0;
  std::string body;
  std::string location;
  std::string content_type;
};

constexpr milliseconds fetch_timeout{30000};
constexpr std::size_t fetch_body_limit = 1024 * 1024;

template <typename Stream>
asio::awaitable<fetch_result> exchange(Stream& stream, http::request<http::string_body>& req) {
  auto [wec, wn] = co_await http::async_write(stream, req, use_tuple);
  if (wec) throw std::runtime_error("cannot send: " + wec.message());
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(fetch_body_limit);
  auto [rec, rn] = co_await http::async_read(stream, buffer, parser, use_tuple);
  if (rec) throw std::runtime_error("no answer: " + rec.message());
  auto& res = parser.get();
  co_return fetch_result{res.result_int(), std::move(res.body()), std::string(res[http::field::location]),
                         std::string(res[http::field::content_type])};
}

// One request to `url`, redirects not followed. TLS verifies the peer against the system's CAs.
asio::awaitable<fetch_result> fetch(asio::any_io_executor executor, http::verb method, const std::string& url,
                                    std::string body = {}, std::string content_type = {},
                                    std::string basic_auth = {}) {
  const auto scheme = boost::urls::parse_uri(url);
  if (!scheme || (scheme->scheme() != "http" && scheme->scheme() != "https")) {
    throw std::runtime_error("not an http(s) URL: " + url);
  }
  const auto where = net::parse_target(url);
  http::request<http::string_body> req{method, where.target, 11};
  req.set(http::field::host, where.authority);
  req.set(http::field::user_agent, "manifold");
  req.set(http::field::accept, "application/json");
  if (!basic_auth.empty()) req.set(http::field::authorization, "Basic " + basic_auth);
  if (!content_type.empty()) req.set(http::field::content_type, content_type);
  if (method != http::verb::get) {
    req.body() = std::move(body);
    req.prepare_payload();
  }
  req.keep_alive(false);

  if (!where.tls) {
    beast::tcp_stream stream(executor);
    co_await net::connect_stream(stream, where, fetch_timeout);
    stream.expires_after(fetch_timeout);
    co_return co_await exchange(stream, req);
  }
  ssl::context context(ssl::context::tls_client);
  context.set_default_verify_paths();
  context.set_verify_mode(ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(executor, context);
  co_await net::connect_stream(stream, where, fetch_timeout);
  beast::get_lowest_layer(stream).expires_after(fetch_timeout);
  co_return co_await exchange(stream, req);
}

// A string member of an object from a server; `fallback` when it is missing or not a string.
std::string string_member(const json& object, const char* key, std::string fallback = {}) {
  const auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : fallback;
}

// A JSON object from a 200 answer, or nullopt.
std::optional<json> json_object(const fetch_result& r) {
  if (r.status != 200) return std::nullopt;
  auto parsed = json::parse(r.body, nullptr, false);
  if (!parsed.is_object()) return std::nullopt;
  return parsed;
}

// Authorization server endpoints must use TLS, except on loopback (local development and
// test servers).
void require_secure(const std::string& url, const std::string& what) {
  const auto u = boost::urls::parse_uri(url);
  if (!u) throw std::runtime_error(what + " is not a URL: " + url);
  if (u->scheme() == "https") return;
  if (u->scheme() == "http" && io::is_loopback_host(u->encoded_host())) return;
  throw std::runtime_error(what + " must be https: " + url);
}

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  boost::urls::url u;
  for (const auto& [k, v] : fields) u.params().append({k, v});
  return std::string(u.encoded_query());
}

std::string query_value(const boost::urls::url_view& u, std::string_view key) {
  for (const auto& p : u.params()) {
    if (p.key == key) return p.value;
  }
  return {};
}

}  // namespace

// ---- the flow ----

struct authorizer::state : std::enable_shared_from_this<authorizer::state> {
  asio::any_io_executor executor;
  config::server_config server;
  std::function<std::string()> subject_token;  // token_exchange: the caller's current token

  std::string access_token;
  std::string refresh_token;
  std::vector<std::string> granted;
  // Discovery and registration, kept across flows.
  std::string resource_metadata_from;  // the URL the metadata came from
  std::optional<json> resource_metadata;
  std::optional<json> server_metadata;
  std::string authorization_endpoint;  // from server_metadata, checked
  std::string token_endpoint;
  std::string resource;  // the `resource` parameter
  std::string issuer_id;  // the authorization server's issuer identifier (from the PRM)
  std::string client_id;
  std::string client_secret;
  std::string registered_method;
  std::string registered_redirect;

  bool running = false;
  std::shared_ptr<io::event> done;  // set when the running flow ends
  std::string last_error;
  int flows_since_success = 0;  // authorization flows with no request served in between

  state(asio::any_io_executor ex, config::server_config s, std::function<std::string()> subject)
      : executor(std::move(ex)), server(std::move(s)), subject_token(std::move(subject)) {}

  // The grant this instance uses. A token_exchange server's launch instance serves no caller
  // (it only lists the catalog), so it signs in as manifold itself with client_credentials;
  // every caller's own instance exchanges that caller's token.
  [[nodiscard]] config::oauth_grant grant() const {
    if (server.oauth.grant == config::oauth_grant::token_exchange && !subject_token) {
      return config::oauth_grant::client_credentials;
    }
    return server.oauth.grant;
  }

  void begin() {
    running = true;
    done = std::make_shared<io::event>();
  }
  void end() {
    running = false;
    done->set();
  }

  asio::awaitable<std::string> handle(unsigned status, std::string header, std::string token_used) {
    if (running) {
      // Someone else's flow is on: its token is what this request retries with.
      const auto finished = done;
      co_await finished->wait_until(std::chrono::steady_clock::time_point::max());
      co_return access_token != token_used && !access_token.empty() ? std::string() : last_error;
    }
    if (access_token != token_used && !access_token.empty()) co_return std::string();  // a newer token exists
    const auto c = parse_bearer_challenge(header);
    if (!c) co_return "HTTP " + std::to_string(status) + " without a Bearer challenge";
    std::vector<std::string> scopes;
    if (status == 403) {
      if (c->error != "insufficient_scope") co_return "HTTP 403 (" + (c->error.empty() ? "forbidden" : c->error) + ")";
      const auto wanted = split_scopes(c->scope);
      if (scopes_cover(granted, wanted)) {
        co_return "the server wants scopes `" + c->scope + "`, which the token already has; it refuses anyway";
      }
      scopes = scope_union(granted, wanted);
    } else if (!token_used.empty() && !refresh_token.empty() && c->error != "insufficient_scope") {
      begin();
      const bool refreshed = co_await refresh();
      end();
      if (refreshed) co_return std::string();
    }
    if (flows_since_success >= 2) {
      co_return "two authorizations in a row did not produce a token the server accepts";
    }
    if (status == 401 && !token_used.empty()) {
      // The server refuses the token it was sent: its metadata may name another
      // authorization server now (SEP-2352), so discovery starts over.
      resource_metadata.reset();
      server_metadata.reset();
    }
    begin();
    std::string error;
    // A named local, not a temporary in the co_await expression (GCC 12 destroys such
    // temporaries twice).
    std::optional<std::vector<std::string>> step_up;
    if (status == 403) step_up = scopes;
    const challenge parsed = *c;
    try {
      co_await flow(parsed, step_up);
    } catch (const std::exception& e) {
      error = e.what();
    }
    ++flows_since_success;
    last_error = error;
    end();
    if (!error.empty()) spdlog::warn("[{}] authorization failed: {}", server.name, protocol::log_safe(error));
    co_return error;
  }

  asio::awaitable<void> discover(const challenge& c) {
    std::vector<std::string> urls;
    if (!c.resource_metadata.empty()) urls.push_back(c.resource_metadata);
    else urls = resource_metadata_urls(server.url);
    if (!resource_metadata || (urls.front() != resource_metadata_from && !c.resource_metadata.empty())) {
      resource_metadata.reset();
      for (const auto& url : urls) {
        const auto r = co_await fetch(executor, http::verb::get, url);
        spdlog::debug("[{}] GET {} -> HTTP {}", server.name, url, r.status);
        if (auto doc = json_object(r)) {
          resource_metadata = std::move(doc);
          resource_metadata_from = url;
          break;
        }
        if (r.status < 400 || r.status >= 500) break;  // only a 4xx sends us to the next place
      }
      if (!resource_metadata) throw std::runtime_error("no protected resource metadata at " + join_scopes(urls));
      const auto& prm = *resource_metadata;
      resource = server.url;
      if (const auto named = string_member(prm, "resource"); !named.empty()) {
        if (!resource_allowed(named, server.url)) {
          resource_metadata.reset();  // never used by a later flow either
          throw std::runtime_error("the protected resource metadata is for " + named + ", not " + server.url);
        }
        resource = named;
      }
      server_metadata.reset();
    }
    if (!server_metadata) {
      const auto& servers = resource_metadata->value("authorization_servers", json::array());
      if (!servers.is_array() || servers.empty() || !servers[0].is_string()) {
        throw std::runtime_error("the protected resource metadata names no authorization server");
      }
      const auto issuer = servers[0].get<std::string>();
      require_secure(issuer, "the authorization server");
      const bool registered = server.oauth.client_id.empty() && !client_id.empty() &&
                              client_id != server.oauth.client_metadata_url;
      if (!issuer_id.empty() && issuer != issuer_id && registered) {
        // SEP-2352: a new authorization server; what the old one registered is not reused.
        spdlog::info("[{}] the authorization server changed from {} to {}; registering again", server.name,
                     protocol::log_safe(issuer_id, 200), protocol::log_safe(issuer, 200));
        client_id.clear();
        client_secret.clear();
        registered_method.clear();
        registered_redirect.clear();
        access_token.clear();
        refresh_token.clear();
      }
      issuer_id = issuer;
      for (const auto& url : authorization_server_metadata_urls(issuer)) {
        const auto r = co_await fetch(executor, http::verb::get, url);
        spdlog::debug("[{}] GET {} -> HTTP {}", server.name, url, r.status);
        if (auto doc = json_object(r)) {
          // RFC 8414 section 3.3: the metadata's issuer is the one its address was built from,
          // character for character; other metadata is not used.
          if (const auto named = string_member(*doc, "issuer"); named != issuer) {
            throw std::runtime_error("the authorization server metadata at " + url + " is for issuer '" +
                                     protocol::log_safe(named, 200) + "', not " + issuer);
          }
          server_metadata = std::move(doc);
          break;
        }
      }
      if (!server_metadata) throw std::runtime_error("no authorization server metadata for " + issuer);
      token_endpoint = string_member(*server_metadata, "token_endpoint");
      if (token_endpoint.empty()) throw std::runtime_error("the authorization server metadata lacks its token endpoint");
      require_secure(token_endpoint, "token_endpoint");
      if (grant() == config::oauth_grant::authorization_code) {
        const auto methods = server_metadata->value("code_challenge_methods_supported", json::array());
        if (!methods.is_array() || std::find(methods.begin(), methods.end(), json("S256")) == methods.end()) {
          throw std::runtime_error("the authorization server does not offer PKCE with S256");
        }
        authorization_endpoint = string_member(*server_metadata, "authorization_endpoint");
        if (authorization_endpoint.empty()) {
          throw std::runtime_error("the authorization server metadata lacks its authorization endpoint");
        }
        require_secure(authorization_endpoint, "authorization_endpoint");
      } else {
        // A server that lists its grants must list ours (RFC 8414: the list is optional).
        const auto wanted = grant() == config::oauth_grant::client_credentials
                                ? std::string("client_credentials")
                                : std::string(token_exchange_grant);
        const auto grants = server_metadata->find("grant_types_supported");
        if (grants != server_metadata->end() && grants->is_array() &&
            std::find(grants->begin(), grants->end(), json(wanted)) == grants->end()) {
          throw std::runtime_error("the authorization server does not offer the " + wanted + " grant");
        }
      }
    }
  }

  // SEP-837 (OpenID Connect registration): "web" for a client whose redirect is an https
  // site, "native" for one that receives it on a loopback address or a private scheme.
  static const char* application_type(const std::string& redirect) {
    const auto url = boost::urls::parse_uri(redirect);
    const bool web = url && url->scheme() == "https" && !io::is_loopback_host(url->encoded_host());
    return web ? "web" : "native";
  }

  // The client identity, in the specification's order.
  asio::awaitable<void> identify(const std::string& redirect) {
    if (!client_id.empty() && (registered_redirect.empty() || registered_redirect == redirect)) co_return;
    const auto& cfg = server.oauth;
    if (!cfg.client_id.empty()) {
      client_id = cfg.client_id;
      client_secret = cfg.client_secret;
      spdlog::info("[{}] using the pre-registered OAuth client {}", server.name, protocol::log_safe(client_id, 200));
      co_return;
    }
    if (!cfg.client_metadata_url.empty() &&
        server_metadata->value("client_id_metadata_document_supported", json(false)) == json(true)) {
      client_id = cfg.client_metadata_url;
      spdlog::info("[{}] using the client ID metadata document {}", server.name, protocol::log_safe(client_id, 200));
      co_return;
    }
    const auto endpoint = string_member(*server_metadata, "registration_endpoint");
    if (endpoint.empty()) {
      throw std::runtime_error("the authorization server offers no dynamic registration; configure "
                               "oauth.client_id (and client_secret) or oauth.client_metadata_url");
    }
    require_secure(endpoint, "the registration endpoint");
    std::string method = "none";
    const auto supported = server_metadata->value("token_endpoint_auth_methods_supported", json::array());
    for (const char* m : {"client_secret_basic", "client_secret_post", "none"}) {
      if (std::find(supported.begin(), supported.end(), json(m)) != supported.end()) {
        method = m;
        break;
      }
    }
    json request{{"client_name", cfg.client_name},
                 {"redirect_uris", json::array({redirect})},
                 {"grant_types", json::array({"authorization_code", "refresh_token"})},
                 {"response_types", json::array({"code"})},
                 {"token_endpoint_auth_method", method},
                 {"application_type", application_type(redirect)}};
    const auto r = co_await fetch(executor, http::verb::post, endpoint, request.dump(), "application/json");
    const auto reply = json::parse(r.body, nullptr, false);
    if ((r.status != 200 && r.status != 201) || !reply.is_object() || string_member(reply, "client_id").empty()) {
      throw std::runtime_error("dynamic registration answered HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 200));
    }
    client_id = string_member(reply, "client_id");
    client_secret = string_member(reply, "client_secret");
    registered_method = string_member(reply, "token_endpoint_auth_method", method);
    registered_redirect = redirect;
    spdlog::info("[{}] registered as OAuth client {}", server.name, protocol::log_safe(client_id, 200));
  }

  // Fields and Basic credentials for the token endpoint.
  std::string authenticate(std::vector<std::pair<std::string, std::string>>& fields) const {
    if (!server.oauth.private_key_pem.empty()) {
      // private_key_jwt (RFC 7523 section 2.2): a short-lived assertion signed with our key,
      // for the authorization server (its issuer identifier, else its token endpoint).
      const auto& key = server.oauth.private_key_pem;
      const auto algorithm = server.oauth.signing_algorithm.empty() ? access::default_signing_algorithm(key)
                                                                     : server.oauth.signing_algorithm;
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch()).count();
      const json claims{{"iss", client_id},
                        {"sub", client_id},
                        {"aud", string_member(*server_metadata, "issuer", token_endpoint)},
                        {"jti", random_token(18)},
                        {"iat", now},
                        {"exp", now + 300}};
      fields.emplace_back("client_id", client_id);
      fields.emplace_back("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
      fields.emplace_back("client_assertion", access::sign_jwt(key, algorithm, claims));
      return {};
    }
    switch (choose_client_auth(*server_metadata, registered_method, !client_secret.empty())) {
      case client_auth::secret_basic: {
        // RFC 6749 2.3.1: id and secret form-encoded, then Base64.
        const auto id = form_encode({{"x", client_id}}).substr(2);
        const auto secret = form_encode({{"x", client_secret}}).substr(2);
        return protocol::base64_encode(id + ":" + secret);
      }
      case client_auth::secret_post:
        fields.emplace_back("client_id", client_id);
        fields.emplace_back("client_secret", client_secret);
        return {};
      case client_auth::none:
        fields.emplace_back("client_id", client_id);
        return {};
    }
    return {};
  }

  void take_tokens(const fetch_result& r, const std::vector<std::string>& requested) {
    const auto reply = json::parse(r.body, nullptr, false);
    const auto token = reply.is_object() ? string_member(reply, "access_token") : std::string();
    if (r.status != 200 || token.empty()) {
      throw std::runtime_error("the token endpoint answered HTTP " + std::to_string(r.status) + ": " + r.body.substr(0, 200));
    }
    if (const auto type = string_member(reply, "token_type", "Bearer"); !beast::iequals(type, "bearer")) {
      throw std::runtime_error("the token endpoint issued a " + type + " token, not Bearer");
    }
    // RFC 6750's b64token, and nothing that could break out of a header line.
    if (!std::all_of(token.begin(), token.end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) != 0 || std::string_view("-._~+/=").find(ch) != std::string_view::npos;
        })) {
      throw std::runtime_error("the token endpoint issued an access token that is not a valid Bearer token");
    }
    access_token = token;
    if (auto refresh = string_member(reply, "refresh_token"); !refresh.empty()) refresh_token = std::move(refresh);
    const auto scope = reply.find("scope");
    granted = scope != reply.end() && scope->is_string() ? split_scopes(scope->get<std::string>()) : requested;
  }

  asio::awaitable<bool> refresh() {
    try {
      std::vector<std::pair<std::string, std::string>> fields{
          {"grant_type", "refresh_token"}, {"refresh_token", refresh_token}, {"resource", resource}};
      const auto basic = authenticate(fields);
      const auto r = co_await fetch(executor, http::verb::post, token_endpoint,
                                    form_encode(fields), "application/x-www-form-urlencoded", basic);
      refresh_token.clear();
      take_tokens(r, granted);
      spdlog::info("[{}] refreshed the access token", server.name);
      co_return true;
    } catch (const std::exception& e) {
      spdlog::warn("[{}] token refresh failed ({}); authorizing again", server.name, e.what());
      co_return false;
    }
  }

  // Waits on `acceptor` for the browser's redirect to `path` carrying `state`; returns the
  // redirect's full URL (with code or error).
  asio::awaitable<std::string> wait_for_redirect(tcp::acceptor& acceptor, std::string path) {
    asio::steady_timer deadline(executor, server.oauth.authorize_timeout);
    deadline.async_wait([&acceptor](boost::system::error_code ec) {
      if (!ec) acceptor.close();
    });
    for (;;) {
      auto [aec, socket] = co_await acceptor.async_accept(use_tuple);
      if (aec) throw std::runtime_error("nobody completed the authorization in time");
      beast::tcp_stream stream(std::move(socket));
      stream.expires_after(std::chrono::seconds(10));
      beast::flat_buffer buffer;
      http::request<http::empty_body> req;
      auto [rec, rn] = co_await http::async_read(stream, buffer, req, use_tuple);
      if (rec) continue;
      const auto target = std::string(req.target());
      const auto u = boost::urls::parse_origin_form(target);
      const bool ours = u && u->encoded_path() == path && (u->has_query());
      http::response<http::string_body> res{ours ? http::status::ok : http::status::not_found, req.version()};
      res.set(http::field::content_type, "text/plain; charset=utf-8");
      res.body() = ours ? "manifold: authorization received for " + server.name + ". You can close this page.\n"
                        : "not found\n";
      res.keep_alive(false);
      res.prepare_payload();
      co_await http::async_write(stream, res, use_tuple);
      if (ours) {
        deadline.cancel();
        co_return target;
      }
    }
  }

  // A token without a person: manifold's own (client_credentials) or the caller's exchanged
  // for one meant for this upstream (RFC 8693).
  asio::awaitable<void> service_flow(const std::vector<std::string>& scopes) {
    client_id = server.oauth.client_id;
    client_secret = server.oauth.client_secret;
    std::vector<std::pair<std::string, std::string>> fields;
    if (grant() == config::oauth_grant::client_credentials) {
      fields.emplace_back("grant_type", "client_credentials");
    } else {
      const auto subject = subject_token ? subject_token() : std::string();
      if (subject.empty()) {
        throw std::runtime_error("token_exchange needs the caller's token, and the caller has no valid JWT "
                                 "(it signed in otherwise, or its token expired)");
      }
      fields.emplace_back("grant_type", token_exchange_grant);
      fields.emplace_back("subject_token", subject);
      fields.emplace_back("subject_token_type", server.oauth.subject_token_type);
      fields.emplace_back("requested_token_type", "urn:ietf:params:oauth:token-type:access_token");
      if (!server.oauth.audience.empty()) fields.emplace_back("audience", server.oauth.audience);
    }
    fields.emplace_back("resource", resource);
    if (!scopes.empty()) fields.emplace_back("scope", join_scopes(scopes));
    const auto basic = authenticate(fields);
    const auto t = co_await fetch(executor, http::verb::post, token_endpoint, form_encode(fields),
                                  "application/x-www-form-urlencoded", basic);
    take_tokens(t, scopes);
    spdlog::info("[{}] {} token{}", server.name,
                 grant() == config::oauth_grant::client_credentials ? "got a client_credentials" : "exchanged the caller's",
                 granted.empty() ? "" : " with scopes " + join_scopes(granted));
  }

  asio::awaitable<void> flow(const challenge& c, std::optional<std::vector<std::string>> step_up) {
    co_await discover(c);
    const auto& prm = *resource_metadata;
    std::vector<std::string> scopes;
    if (step_up) {
      scopes = *step_up;
    } else if (!server.oauth.scopes.empty()) {
      scopes = server.oauth.scopes;
    } else if (!c.scope.empty()) {
      scopes = split_scopes(c.scope);
    } else if (const auto s = prm.find("scopes_supported"); s != prm.end() && s->is_array()) {
      for (const auto& v : *s) {
        if (v.is_string()) scopes.push_back(v.get<std::string>());
      }
    }

    if (grant() != config::oauth_grant::authorization_code) {
      co_await service_flow(scopes);
      co_return;
    }

    // The redirect URI, and a loopback listener for it when a person has to sign in.
    auto redirect_url = boost::urls::parse_uri(server.oauth.redirect_uri);
    if (!redirect_url) throw std::runtime_error("oauth.redirect_uri is not a URL");
    boost::urls::url redirect(*redirect_url);
    std::optional<tcp::acceptor> listener;
    if (redirect.scheme() == "http" && io::is_loopback_host(redirect.encoded_host())) {
      try {
        const auto port = !registered_redirect.empty() ? boost::urls::parse_uri(registered_redirect)->port_number()
                                                        : redirect.port_number();
        const auto address = asio::ip::make_address(redirect.host_address() == "localhost" ? "127.0.0.1" : std::string(redirect.host_address()));
        listener.emplace(executor, tcp::endpoint(address, port));
        redirect.set_port_number(listener->local_endpoint().port());
      } catch (const std::exception& e) {
        spdlog::debug("[{}] no listener for the redirect ({}); only a direct redirect will do", server.name, e.what());
        listener.reset();
      }
    }
    const std::string redirect_uri(redirect.buffer());
    co_await identify(redirect_uri);

    const auto pkce = make_pkce();
    const auto state_value = random_token(24);
    const auto endpoint = boost::urls::parse_uri(authorization_endpoint);
    if (!endpoint) throw std::runtime_error("authorization_endpoint is not a URL: " + authorization_endpoint);
    boost::urls::url authorize(*endpoint);
    authorize.params().append({"response_type", "code"});
    authorize.params().append({"client_id", client_id});
    authorize.params().append({"redirect_uri", redirect_uri});
    authorize.params().append({"code_challenge", pkce.challenge});
    authorize.params().append({"code_challenge_method", "S256"});
    authorize.params().append({"state", state_value});
    authorize.params().append({"resource", resource});
    if (!scopes.empty()) authorize.params().append({"scope", join_scopes(scopes)});
    const std::string authorize_url(authorize.buffer());

    spdlog::info("[{}] authorizing{}", server.name, scopes.empty() ? "" : " for scopes " + join_scopes(scopes));
    std::string landing;  // the redirect back to us, with code or error
    const auto r = co_await fetch(executor, http::verb::get, authorize_url);
    auto is_ours = [&](const std::string& location) {
      const auto l = boost::urls::parse_uri(location);
      return l && l->scheme() == redirect.scheme() && l->encoded_host() == redirect.encoded_host() &&
             l->port() == redirect.port() && l->encoded_path() == redirect.encoded_path();
    };
    if (r.status >= 300 && r.status < 400 && is_ours(r.location)) {
      landing = r.location;  // the server decided without a person
    } else if (listener) {
      spdlog::warn("[{}] needs authorization by a person: open {}", server.name, protocol::log_safe(authorize_url, 4000));
      const auto target = co_await wait_for_redirect(*listener, std::string(redirect.encoded_path()));
      landing = std::string(redirect.scheme()) + "://" + std::string(redirect.encoded_authority()) + target;
    } else {
      throw std::runtime_error("the authorization server wants a person (HTTP " + std::to_string(r.status) +
                               "); set oauth.redirect_uri to a loopback http URL manifold can listen on");
    }
    listener.reset();
    const auto back = boost::urls::parse_uri(landing);
    if (!back) throw std::runtime_error("the authorization server redirected to an invalid URL");
    if (const auto err = query_value(*back, "error"); !err.empty()) {
      throw std::runtime_error("authorization refused: " + err + " " + query_value(*back, "error_description"));
    }
    if (query_value(*back, "state") != state_value) throw std::runtime_error("the authorization answer's state does not match");
    // RFC 9207: an `iss` in the answer must be the issuer, compared as plain strings; a server
    // that advertises the parameter must send it.
    if (back->params().find("iss") != back->params().end()) {
      if (const auto iss = query_value(*back, "iss"); iss != issuer_id) {
        throw std::runtime_error("the authorization answer comes from issuer '" + protocol::log_safe(iss, 200) +
                                 "', not " + issuer_id);
      }
    } else if (server_metadata->value("authorization_response_iss_parameter_supported", json(false)) == json(true)) {
      throw std::runtime_error("the authorization answer lacks the iss its server advertises (RFC 9207)");
    }
    const auto code = query_value(*back, "code");
    if (code.empty()) throw std::runtime_error("the authorization answer has no code");

    std::vector<std::pair<std::string, std::string>> fields{{"grant_type", "authorization_code"},
                                                            {"code", code},
                                                            {"redirect_uri", redirect_uri},
                                                            {"code_verifier", pkce.verifier},
                                                            {"resource", resource}};
    const auto basic = authenticate(fields);
    const auto t = co_await fetch(executor, http::verb::post, token_endpoint,
                                  form_encode(fields), "application/x-www-form-urlencoded", basic);
    take_tokens(t, scopes);
    spdlog::info("[{}] authorized{}", server.name, granted.empty() ? "" : " with scopes " + join_scopes(granted));
  }
};

authorizer::authorizer(asio::any_io_executor executor, const config::server_config& server,
                       std::function<std::string()> subject_token)
    : state_(std::make_shared<state>(std::move(executor), server, std::move(subject_token))) {}

authorizer::~authorizer() = default;

const std::string& authorizer::access_token() const { return state_->access_token; }

void authorizer::note_success() { state_->flows_since_success = 0; }

asio::awaitable<std::string> authorizer::handle_challenge(unsigned status, std::string www_authenticate,
                                                          std::string token_used) {
  auto keep = state_;  // the flow outlives a transport closed meanwhile
  co_return co_await keep->handle(status, std::move(www_authenticate), std::move(token_used));
}

}  // namespace manifold::upstream::oauth
