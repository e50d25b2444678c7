#include "manifold/access/rate_limiter.hpp"

#include <algorithm>
#include <vector>

namespace manifold::access {

std::string_view to_string(limit_scope scope) {
  switch (scope) {
    case limit_scope::global:
      return "global";
    case limit_scope::principal:
      return "principal";
    case limit_scope::tool:
      return "tool";
    case limit_scope::none:
      break;
  }
  return "none";
}

nlohmann::json rate_decision::json_rpc_error() const {
  const auto ms = retry_after.count();
  return {{"code", rate_limited_code},
          {"message", "Rate limit exceeded (" + std::string(to_string(scope)) + "); retry in " + std::to_string(ms) + " ms"},
          {"data", {{"retryAfterMs", ms}, {"scope", to_string(scope)}}}};
}

long rate_decision::retry_after_seconds() const {
  return std::max<long>(1, static_cast<long>((retry_after.count() + 999) / 1000));
}

rate_limiter::rate_limiter(settings s, clock_fn clock) : settings_(s), clock_(std::move(clock)) {
  if (settings_.global.limited()) global_.emplace(settings_.global, clock_());
  settings_.max_entries = std::max<std::size_t>(settings_.max_entries, 8);
}

void rate_limiter::make_room(table& t, token_bucket::time_point now) const {
  std::erase_if(t, [&](const auto& entry) { return entry.second.full(now); });
  if (t.size() < settings_.max_entries) return;
  std::vector<std::pair<token_bucket::time_point, const std::string*>> ages;
  ages.reserve(t.size());
  for (const auto& [key, b] : t) ages.emplace_back(b.updated(), &key);
  const auto drop = ages.begin() + static_cast<std::ptrdiff_t>(ages.size() / 8 + 1);
  std::nth_element(ages.begin(), drop - 1, ages.end());
  std::vector<std::string> victims;
  for (auto it = ages.begin(); it != drop; ++it) victims.push_back(*it->second);
  for (const auto& key : victims) t.erase(key);
}

token_bucket& rate_limiter::bucket(table& t, std::string key, const rate_limit& limit, token_bucket::time_point now) {
  auto it = t.find(key);
  if (it == t.end()) {
    if (t.size() >= settings_.max_entries) make_room(t, now);
    it = t.emplace(std::move(key), token_bucket(limit, now)).first;
  } else {
    it->second.set_limit(limit);  // the plan may have changed (reload, other roles)
  }
  return it->second;
}

rate_decision rate_limiter::check(std::string_view principal, std::string_view tool, const rate_plan& plan) {
  const auto now = clock_();
  struct candidate {
    token_bucket* b;
    limit_scope scope;
  };
  candidate found[3];
  std::size_t n = 0;
  if (global_) found[n++] = {&*global_, limit_scope::global};
  if (plan.per_principal.limited()) {
    found[n++] = {&bucket(principals_, std::string(principal), plan.per_principal, now), limit_scope::principal};
  }
  if (plan.per_tool.limited()) {
    std::string key(principal);
    key += '\n';
    key += tool;
    found[n++] = {&bucket(tools_, std::move(key), plan.per_tool, now), limit_scope::tool};
  }
  rate_decision out;
  for (std::size_t i = 0; i < n; ++i) {
    const auto wait = found[i].b->wait_for_one(now);
    if (wait.count() > 0 && (out.allowed || wait > out.retry_after)) {
      out = {false, found[i].scope, wait};
    }
  }
  if (!out.allowed) return out;
  for (std::size_t i = 0; i < n; ++i) found[i].b->take(now);
  return out;
}

}  // namespace manifold::access
