#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/config/config.hpp"

// manifold as an OAuth 2.1 client of an HTTP upstream, as MCP's authorization specification
// (2025-11-25) describes it: a 401 Bearer challenge leads to the protected resource metadata
// (RFC 9728), the authorization server's metadata (RFC 8414 / OpenID Connect discovery), a
// client identity (pre-registered, a client ID metadata document, or dynamic registration,
// RFC 7591), an authorization code with PKCE (S256) and the `resource` indicator (RFC 8707),
// and a Bearer token on every later request; a 403 insufficient_scope challenge steps up.
namespace manifold::upstream::oauth {

using json = nlohmann::json;

// The Bearer challenge of a WWW-Authenticate header.
struct challenge {
  std::string error;              // invalid_token, insufficient_scope, ... (may be empty)
  std::string scope;              // space-separated scopes the server asks for
  std::string resource_metadata;  // URL of the protected resource metadata
};

// The Bearer challenge in `header` (auth-params in any order, quoted or token values; other
// schemes in the same header are skipped), or nullopt when there is none.
std::optional<challenge> parse_bearer_challenge(std::string_view header);

// Where the protected resource metadata of `server_url` may be, in the order to try:
// path-based (/.well-known/oauth-protected-resource/<path>), then the root.
std::vector<std::string> resource_metadata_urls(const std::string& server_url);

// Where the metadata of the authorization server `issuer` may be, in the order to try
// (RFC 8414 with path insertion, then OpenID Connect discovery both ways).
std::vector<std::string> authorization_server_metadata_urls(const std::string& issuer);

// Whether a protected resource metadata `resource` may stand for `server_url`: the same
// origin, and a path that is a prefix of the server's (on segment boundaries).
bool resource_allowed(const std::string& resource, const std::string& server_url);

std::vector<std::string> split_scopes(std::string_view scopes);
std::string join_scopes(const std::vector<std::string>& scopes);
// Every scope of `wanted` is in `granted`.
bool scopes_cover(const std::vector<std::string>& granted, const std::vector<std::string>& wanted);
// `a` followed by the scopes of `b` it lacks.
std::vector<std::string> scope_union(const std::vector<std::string>& a, const std::vector<std::string>& b);

// How a client authenticates at the token endpoint.
enum class client_auth { none, secret_basic, secret_post };
// The method registered (when the server supports it), else what the secret allows
// (client_secret_basic first, RFC 8414's default when the server lists nothing), else none.
client_auth choose_client_auth(const json& server_metadata, std::string_view registered_method,
                               bool has_secret);

struct pkce_pair {
  std::string verifier;   // 43+ characters of [A-Za-z0-9-._~]
  std::string challenge;  // BASE64URL(SHA-256(verifier))
};
pkce_pair make_pkce();
std::string random_token(std::size_t bytes);  // base64url of random bytes

// One upstream's authorization: the token it sends, what discovery and registration found,
// and the flow that gets a new token. One flow runs at a time; requests that meet a challenge
// meanwhile wait for it. Thread: the io thread.
class authorizer {
 public:
  // `subject_token` gives the caller's current token for oauth.grant: token_exchange.
  authorizer(boost::asio::any_io_executor executor, const config::server_config& server,
             std::function<std::string()> subject_token = {});
  ~authorizer();
  authorizer(const authorizer&) = delete;
  authorizer& operator=(const authorizer&) = delete;

  // The current access token ("" before the first flow).
  [[nodiscard]] const std::string& access_token() const;
  // A request sent with the current token got a 2xx: the token works.
  void note_success();
  // A request sent with `token_used` got `status` (401 or 403) with `www_authenticate`.
  // Gets a token worth retrying with; returns "" when there is one, otherwise why not.
  boost::asio::awaitable<std::string> handle_challenge(unsigned status, std::string www_authenticate,
                                                       std::string token_used);

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace manifold::upstream::oauth
