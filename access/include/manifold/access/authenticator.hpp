#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "manifold/access/api_key_store.hpp"
#include "manifold/access/jwks_cache.hpp"
#include "manifold/access/jwt_verifier.hpp"
#include "manifold/access/principal.hpp"
#include "manifold/config/config.hpp"

namespace manifold::access {

// A request header's value by name (case-insensitive), or nullopt. The listener adapts its
// own request type; the request must outlive authenticate() (the lookup is copied).
using header_lookup = std::function<std::optional<std::string_view>(std::string_view name)>;

// Why a request is refused, ready for the HTTP answer: status 400/401/403, the
// `WWW-Authenticate` value, and a message that names no credential.
struct refusal {
  int status = 401;
  std::string www_authenticate;  // empty: no header
  std::string error;             // invalid_request | invalid_token | insufficient_scope | empty (no credentials)
  std::string message;           // for the client
  std::string log_reason;        // for the log: more detail, still no credential
  // The JSON-RPC error object for the body: {code: -32600, message, data: {status, error}}.
  [[nodiscard]] nlohmann::json json_rpc_error() const;
};

struct auth_outcome {
  std::optional<principal> who;
  refusal refused;  // meaningful when !ok()
  [[nodiscard]] bool ok() const { return who.has_value(); }
};

// The host-facing identity check, built once from `auth:`. Thread: the io thread.
class authenticator {
 public:
  struct options {
    jwks_cache::fetch_fn fetch;  // for jwks_url; may be empty without one
    std::function<std::chrono::system_clock::time_point()> now = &std::chrono::system_clock::now;
    jwks_cache::clock_fn steady = &std::chrono::steady_clock::now;
  };

  authenticator(const config::auth_config& cfg, options opts);
  authenticator(const authenticator&) = delete;
  authenticator& operator=(const authenticator&) = delete;
  ~authenticator();

  // Authentication is configured: requests without valid credentials are refused.
  [[nodiscard]] bool enabled() const { return enabled_; }

  // The identity of an HTTP request from its headers. Without auth configured: the anonymous
  // principal. With it: an API key (the configured header, or `Authorization: Bearer`), or a
  // JWT (`Authorization: Bearer`, verified; an unknown kid refreshes the key set once, within
  // its deadline); anything else is refused: 401 without or with bad credentials, 403 for a
  // valid token that lacks resource.required_scopes, 400 for a malformed header. Verified
  // tokens are remembered by their SHA-256 (at most max_cached_tokens, never past their
  // `exp` plus leeway, forgotten whenever the key set changes).
  boost::asio::awaitable<auth_outcome> authenticate(header_lookup headers);

  // The identity of a stdio session: stdio_identity, or the anonymous principal.
  [[nodiscard]] principal stdio_principal() const;
  // Sessions without identity: named "anonymous", with anonymous_roles.
  [[nodiscard]] principal anonymous() const;

  // Paths served without credentials: /healthz always, and auth.public_endpoints.
  [[nodiscard]] bool is_public(std::string_view path) const;

  // RFC 9728 metadata document and the paths to serve it on; null / empty without resource.url.
  [[nodiscard]] nlohmann::json resource_metadata() const;
  [[nodiscard]] std::vector<std::string> resource_metadata_paths() const;

  // The JWT key set, for the app's periodic refresh (every jwt.jwks_refresh_interval); null
  // without JWT.
  [[nodiscard]] jwks_cache* keys() { return jwks_.get(); }

  // Upstreams with `oauth.grant: token_exchange` exchange the caller's own token: from
  // keep_subject_tokens(true) on, the newest verified JWT of each principal is kept (at most
  // max_cached_tokens, never past its `exp` plus leeway). API keys are never kept: they are
  // manifold's secrets, not tokens an authorization server issued.
  void keep_subject_tokens(bool on) { keep_subject_tokens_ = on; }
  // The JWT `principal` presented most recently that is still valid, or "".
  [[nodiscard]] std::string subject_token(std::string_view principal) const;

  static constexpr std::size_t max_cached_tokens = 4096;

 private:
  [[nodiscard]] auth_outcome check_api_key(std::string_view key) const;
  boost::asio::awaitable<auth_outcome> check_jwt(std::string token);
  [[nodiscard]] auth_outcome refuse(int status, std::string error, std::string message, std::string log_reason) const;
  const principal* cached(const std::string& digest);
  void remember(std::string digest, const principal& who, std::chrono::system_clock::time_point expires);
  void keep_subject_token(const std::string& name, const std::string& token,
                          std::chrono::system_clock::time_point valid_until);

  struct verified_token {
    principal who;
    std::chrono::system_clock::time_point valid_until;
  };

  config::auth_config config_;
  bool enabled_ = false;
  bool custom_key_header_ = false;
  api_key_store api_keys_;
  std::optional<jwt_verifier> verifier_;
  std::unique_ptr<jwks_cache> jwks_;
  std::string metadata_url_;
  std::string required_scope_;  // space-separated
  options options_;
  std::unordered_map<std::string, verified_token> verified_;  // by SHA-256 of the token
  std::shared_ptr<const key_set> verified_with_;              // the key set they were verified with
  struct subject_token_entry {
    std::string token;
    std::chrono::system_clock::time_point valid_until;
  };
  bool keep_subject_tokens_ = false;
  std::unordered_map<std::string, subject_token_entry> subject_tokens_;  // by principal name
};

}  // namespace manifold::access
