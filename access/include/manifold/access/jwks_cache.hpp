#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "manifold/access/jwk.hpp"

namespace manifold::io {
class event;
}

namespace manifold::access {

// The key set tokens are verified with: keys from a JWKS file and/or URL plus fixed keys
// (the configured HMAC secret). Refreshed on demand: periodically by the app, and when a
// token names an unknown kid, at most once per `min_refresh_interval` (no refresh storms);
// concurrent refreshes share one fetch. A failed fetch keeps the previous keys; a successful
// one replaces them, so a key the issuer removed stops verifying after the next refresh.
// Thread: the io thread.
class jwks_cache {
 public:
  // Fetches `url`'s body within `deadline`; nullopt on any failure. Supplied by the app (an
  // HTTP client); tests pass a function. It is also cancelled when the deadline passes.
  using fetch_fn = std::function<boost::asio::awaitable<std::optional<std::string>>(std::string url,
                                                                                   std::chrono::milliseconds deadline)>;
  using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

  struct settings {
    std::string file;
    std::string url;
    std::vector<jwk> fixed_keys;  // always present (HMAC secrets)
    std::chrono::milliseconds fetch_timeout{std::chrono::seconds(5)};
    std::chrono::milliseconds min_refresh_interval{std::chrono::seconds(30)};
  };

  jwks_cache(settings s, fetch_fn fetch, clock_fn clock = &std::chrono::steady_clock::now);
  jwks_cache(const jwks_cache&) = delete;
  jwks_cache& operator=(const jwks_cache&) = delete;
  ~jwks_cache();

  // The current keys; never null (possibly without keys).
  [[nodiscard]] std::shared_ptr<const key_set> keys() const { return keys_; }

  // Reloads from the file and the URL now; true when a new key set is in place. A refresh
  // already running is joined instead of starting another.
  boost::asio::awaitable<bool> refresh();
  // For a token with an unknown kid: refresh() unless the last attempt was less than
  // min_refresh_interval ago (then false at once).
  boost::asio::awaitable<bool> refresh_for_unknown_key();
  // Reloads the file's keys only, synchronously (startup; file-only setups).
  bool load_file();

  [[nodiscard]] bool has_source() const { return !settings_.file.empty() || !settings_.url.empty(); }
  [[nodiscard]] std::size_t refreshes() const { return refreshes_; }  // attempts, for tests and metrics

 private:
  boost::asio::awaitable<bool> reload();
  std::optional<key_set> read_file() const;
  void install();

  settings settings_;
  fetch_fn fetch_;
  clock_fn clock_;
  std::vector<jwk> file_keys_;
  std::vector<jwk> url_keys_;
  std::shared_ptr<const key_set> keys_;
  std::optional<std::chrono::steady_clock::time_point> last_attempt_;
  std::shared_ptr<io::event> running_;  // set while a refresh runs
  bool last_ok_ = false;
  std::size_t refreshes_ = 0;
};

}  // namespace manifold::access
