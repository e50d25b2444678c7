#pragma once

#include <chrono>
#include <cstdint>

#include "manifold/config/config.hpp"

namespace manifold::access {

// A rate: `per_second` tokens a second on average, at most `burst` at once. Unlimited when
// per_second is 0.
struct rate_limit {
  double per_second = 0;
  double burst = 0;
  [[nodiscard]] bool limited() const { return per_second > 0; }
  static rate_limit from(const config::rate_limit_config& cfg);
};

// A token bucket with an explicit clock: pure arithmetic, no time source of its own.
class token_bucket {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  token_bucket(rate_limit limit, time_point now) : limit_(limit), tokens_(limit.burst), updated_(now) {}

  // Tokens available at `now` (refilled, capped at the burst).
  [[nodiscard]] double available(time_point now) const;
  // Time until one token is available at `now`; zero when one is.
  [[nodiscard]] std::chrono::milliseconds wait_for_one(time_point now) const;
  // Takes one token at `now`; false (nothing taken) when none is available.
  bool take(time_point now);
  // Full at `now`: forgetting the bucket changes nothing.
  [[nodiscard]] bool full(time_point now) const { return available(now) >= limit_.burst; }
  [[nodiscard]] time_point updated() const { return updated_; }
  void set_limit(rate_limit limit) { limit_ = limit; }

 private:
  rate_limit limit_;
  double tokens_;
  time_point updated_;
};

}  // namespace manifold::access
