#include "manifold/access/authenticator.hpp"

#include <algorithm>

#include "manifold/access/digest.hpp"
#include "manifold/access/resource_metadata.hpp"

namespace manifold::access {

namespace asio = boost::asio;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return (x >= 'A' && x <= 'Z' ? x + 32 : x) == (y >= 'A' && y <= 'Z' ? y + 32 : y);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

bool is_token68(std::string_view s) {
  const auto body = s.substr(0, s.find_last_not_of('=') + 1);
  return !body.empty() && std::all_of(body.begin(), body.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
           c == '_' || c == '~' || c == '+' || c == '/';
  });
}

// The credentials of `Bearer <token68>`; nullopt for another scheme or a malformed value.
std::optional<std::string_view> bearer_token(std::string_view header, bool& other_scheme) {
  header = trim(header);
  const auto space = header.find(' ');
  other_scheme = !iequals(header.substr(0, space), "Bearer");
  if (other_scheme || space == std::string_view::npos) return std::nullopt;
  const auto token = trim(header.substr(space + 1));
  if (!is_token68(token)) return std::nullopt;
  return token;
}

bool looks_like_jwt(std::string_view token) { return std::count(token.begin(), token.end(), '.') == 2; }

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : " ") + item;
  return out;
}

}  // namespace

nlohmann::json refusal::json_rpc_error() const {
  nlohmann::json data{{"status", status}};
  if (!error.empty()) data["error"] = error;
  return {{"code", -32600}, {"message", message}, {"data", std::move(data)}};
}

authenticator::authenticator(const config::auth_config& cfg, options opts)
    : config_(cfg),
      enabled_(cfg.enabled()),
      custom_key_header_(!iequals(cfg.api_key_header, "Authorization")),
      api_keys_(cfg.api_keys),
      metadata_url_(resource_metadata_url(cfg.resource.url)),
      required_scope_(join(cfg.resource.required_scopes)),
      options_(std::move(opts)) {
  config_.jwt.hs256_secret.clear();  // held by the key set only
  if (!cfg.jwt.configured()) return;
  verifier_.emplace(jwt_settings::from(cfg.jwt));
  jwks_cache::settings keys;
  keys.file = cfg.jwt.jwks_file;
  keys.url = cfg.jwt.jwks_url;
  if (!cfg.jwt.hs256_secret.empty()) keys.fixed_keys.push_back(hmac_key(cfg.jwt.hs256_secret));
  keys.fetch_timeout = cfg.jwt.jwks_refresh_timeout;
  keys.min_refresh_interval = cfg.jwt.jwks_min_refresh_interval;
  jwks_ = std::make_unique<jwks_cache>(std::move(keys), options_.fetch, options_.steady);
  jwks_->load_file();
}

authenticator::~authenticator() = default;

auth_outcome authenticator::refuse(int status, std::string error, std::string message, std::string log_reason) const {
  refusal r;
  r.status = status;
  r.message = std::move(message);
  r.log_reason = std::move(log_reason);
  if (status != 400) {
    bearer_challenge challenge;
    challenge.error = error;
    if (!error.empty()) challenge.error_description = r.message;
    if (status == 403 || error.empty()) challenge.scope = required_scope_;
    challenge.resource_metadata = metadata_url_;
    r.www_authenticate = www_authenticate(challenge);
  }
  r.error = std::move(error);
  return {std::nullopt, std::move(r)};
}

principal authenticator::anonymous() const {
  principal p;
  p.name = "anonymous";
  p.roles = normalized_roles(config_.anonymous_roles);
  return p;
}

principal authenticator::stdio_principal() const {
  if (config_.stdio_identity.principal.empty()) return anonymous();
  principal p;
  p.name = config_.stdio_identity.principal;
  p.roles = normalized_roles(config_.stdio_identity.roles);
  p.method = auth_method::stdio;
  return p;
}

bool authenticator::is_public(std::string_view path) const {
  return path == "/healthz" ||
         std::find(config_.public_endpoints.begin(), config_.public_endpoints.end(), path) != config_.public_endpoints.end();
}

nlohmann::json authenticator::resource_metadata() const {
  if (config_.resource.url.empty()) return nullptr;
  return protected_resource_metadata(config_.resource);
}

std::vector<std::string> authenticator::resource_metadata_paths() const {
  if (config_.resource.url.empty()) return {};
  return access::resource_metadata_paths(config_.resource.url);
}

auth_outcome authenticator::check_api_key(std::string_view key) const {
  if (const auto* entry = api_keys_.find(key)) {
    principal p;
    p.name = entry->principal;
    p.roles = entry->roles;
    p.method = auth_method::api_key;
    return {std::move(p), {}};
  }
  return refuse(401, "invalid_token", "unknown API key", "no configured API key matches");
}

const principal* authenticator::cached(const std::string& digest) {
  if (jwks_->keys() != verified_with_) {
    verified_.clear();
    verified_with_ = jwks_->keys();
    return nullptr;
  }
  const auto it = verified_.find(digest);
  if (it == verified_.end()) return nullptr;
  if (options_.now() > it->second.valid_until) {
    verified_.erase(it);
    return nullptr;
  }
  return &it->second.who;
}

void authenticator::remember(std::string digest, const principal& who, std::chrono::system_clock::time_point expires) {
  if (jwks_->keys() != verified_with_) {
    verified_.clear();
    verified_with_ = jwks_->keys();
  }
  if (verified_.size() >= max_cached_tokens) {
    const auto now = options_.now();
    std::erase_if(verified_, [&](const auto& entry) { return now > entry.second.valid_until; });
    if (verified_.size() >= max_cached_tokens) verified_.clear();
  }
  verified_.insert_or_assign(std::move(digest), verified_token{who, expires + config_.jwt.leeway});
}

asio::awaitable<auth_outcome> authenticator::check_jwt(std::string token) {
  auto digest = sha256(token);
  if (const auto* who = cached(digest)) {
    keep_subject_token(who->name, token, verified_.at(digest).valid_until);
    co_return auth_outcome{*who, {}};
  }
  auto keys = jwks_->keys();
  auto result = verifier_->verify(token, *keys, options_.now());
  const bool retry = result.error.kind == jwt_failure::unknown_key ||
                     (result.error.kind == jwt_failure::no_key && keys->keys.empty());
  if (!result.ok() && retry && co_await jwks_->refresh_for_unknown_key()) {
    keys = jwks_->keys();
    result = verifier_->verify(token, *keys, options_.now());
  }
  if (!result.ok()) co_return refuse(401, "invalid_token", result.error.reason, "JWT refused: " + result.error.reason);
  const auto& scopes = result.token->scopes;
  for (const auto& needed : config_.resource.required_scopes) {
    if (std::find(scopes.begin(), scopes.end(), needed) == scopes.end()) {
      co_return refuse(403, "insufficient_scope", "the token lacks scope " + needed,
                       "JWT of " + result.token->subject + " lacks scope " + needed);
    }
  }
  principal p;
  p.name = std::move(result.token->subject);
  p.roles = std::move(result.token->roles);
  p.method = auth_method::jwt;
  p.claims = std::move(result.token->claims);
  p.scopes = std::move(result.token->scopes);
  keep_subject_token(p.name, token, result.token->expires + config_.jwt.leeway);
  remember(std::move(digest), p, result.token->expires);
  co_return auth_outcome{std::move(p), {}};
}

void authenticator::keep_subject_token(const std::string& name, const std::string& token,
                                       std::chrono::system_clock::time_point valid_until) {
  if (!keep_subject_tokens_) return;
  if (subject_tokens_.size() >= max_cached_tokens && subject_tokens_.count(name) == 0) {
    const auto now = options_.now();
    std::erase_if(subject_tokens_, [&](const auto& entry) { return now > entry.second.valid_until; });
    if (subject_tokens_.size() >= max_cached_tokens) subject_tokens_.clear();
  }
  auto& slot = subject_tokens_[name];
  if (valid_until >= slot.valid_until) slot = {token, valid_until};  // the newest token wins
}

std::string authenticator::subject_token(std::string_view name) const {
  const auto it = subject_tokens_.find(std::string(name));
  if (it == subject_tokens_.end() || options_.now() > it->second.valid_until) return {};
  return it->second.token;
}

asio::awaitable<auth_outcome> authenticator::authenticate(header_lookup headers) {
  if (!enabled_) co_return auth_outcome{anonymous(), {}};
  if (custom_key_header_ && !api_keys_.empty()) {
    if (const auto key = headers(config_.api_key_header)) co_return check_api_key(trim(*key));
  }
  const auto authorization = headers("Authorization");
  if (!authorization) {
    co_return refuse(401, "", "authentication required", "no credentials");
  }
  bool other_scheme = false;
  const auto token = bearer_token(*authorization, other_scheme);
  if (other_scheme) co_return refuse(401, "", "use Authorization: Bearer", "Authorization scheme is not Bearer");
  if (!token) co_return refuse(400, "invalid_request", "malformed Authorization header", "malformed Bearer value");
  if (verifier_ && looks_like_jwt(*token)) co_return co_await check_jwt(std::string(*token));
  if (!custom_key_header_ && !api_keys_.empty()) co_return check_api_key(*token);
  co_return refuse(401, "invalid_token", "unknown credentials", "Bearer value is neither a JWT nor an accepted API key");
}

}  // namespace manifold::access
