#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "manifold/access/role_view.hpp"
#include "manifold/access/token_bucket.hpp"

namespace manifold::access {

// JSON-RPC error code for a call over a rate limit or a concurrency cap (the value other MCP
// gateways use; protocol/error_codes.hpp may adopt it).
inline constexpr int rate_limited_code = -32029;

enum class limit_scope { none, global, principal, tool };

std::string_view to_string(limit_scope scope);

struct rate_decision {
  bool allowed = true;
  limit_scope scope = limit_scope::none;       // the bucket that ran dry (the longest wait)
  std::chrono::milliseconds retry_after{0};    // when a token will be there again
  // {code: -32029, message, data: {retryAfterMs, scope}} for a refusal.
  [[nodiscard]] nlohmann::json json_rpc_error() const;
  // Whole seconds for an HTTP Retry-After header (at least 1).
  [[nodiscard]] long retry_after_seconds() const;
};

// Token buckets per principal, per (principal, tool) and one global, sized by each caller's
// rate_plan. Tables are bounded: full buckets (idle: forgetting them changes nothing) are
// dropped when a table reaches its cap, then the least recently used eighth if that is not
// enough. Thread: the io thread.
class rate_limiter {
 public:
  using clock_fn = std::function<std::chrono::steady_clock::time_point()>;

  struct settings {
    rate_limit global;
    std::size_t max_entries = 100'000;  // per table
  };

  explicit rate_limiter(settings s, clock_fn clock = &std::chrono::steady_clock::now);

  // One call of `tool` by `principal`: takes a token from every bucket that applies, or from
  // none when any of them is empty (then refused, with the wait).
  rate_decision check(std::string_view principal, std::string_view tool, const rate_plan& plan);

  [[nodiscard]] std::size_t entries() const { return principals_.size() + tools_.size(); }

 private:
  using table = std::unordered_map<std::string, token_bucket>;
  token_bucket& bucket(table& t, std::string key, const rate_limit& limit, token_bucket::time_point now);
  void make_room(table& t, token_bucket::time_point now) const;

  settings settings_;
  clock_fn clock_;
  std::optional<token_bucket> global_;
  table principals_;
  table tools_;
};

}  // namespace manifold::access
