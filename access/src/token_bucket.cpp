#include "manifold/access/token_bucket.hpp"

#include <algorithm>
#include <cmath>

namespace manifold::access {

rate_limit rate_limit::from(const config::rate_limit_config& cfg) {
  if (!cfg.limited() || cfg.period.count() <= 0) return {};
  const double seconds = static_cast<double>(cfg.period.count()) / 1000.0;
  const auto burst = cfg.burst == 0 ? cfg.tokens : cfg.burst;
  return {static_cast<double>(cfg.tokens) / seconds, static_cast<double>(burst)};
}

double token_bucket::available(time_point now) const {
  if (now <= updated_) return std::min(limit_.burst, tokens_);
  const double elapsed = std::chrono::duration<double>(now - updated_).count();
  return std::min(limit_.burst, tokens_ + elapsed * limit_.per_second);
}

std::chrono::milliseconds token_bucket::wait_for_one(time_point now) const {
  const double missing = 1.0 - available(now);
  if (missing <= 0 || limit_.per_second <= 0) return std::chrono::milliseconds(0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(std::ceil(missing / limit_.per_second * 1000.0)));
}

bool token_bucket::take(time_point now) {
  const double tokens = available(now);
  if (tokens < 1.0) return false;
  tokens_ = tokens - 1.0;
  updated_ = std::max(now, updated_);
  return true;
}

}  // namespace manifold::access
