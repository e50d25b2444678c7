#include "ended_sessions.hpp"

namespace manifold::proxy {

void ended_sessions::add(const std::string& sid, std::int64_t expires, std::int64_t now) {
  prune(now);
  if (capacity_ == 0 || expires <= now || by_sid_.count(sid) != 0) return;
  while (by_sid_.size() >= capacity_) {
    const auto first = by_expiry_.begin();
    by_sid_.erase(first->second);
    by_expiry_.erase(first);
  }
  by_sid_[sid] = by_expiry_.emplace(expires, sid);
}

void ended_sessions::set_capacity(std::size_t capacity, std::int64_t now) {
  capacity_ = capacity;
  prune(now);
  while (by_sid_.size() > capacity_) {
    const auto first = by_expiry_.begin();
    by_sid_.erase(first->second);
    by_expiry_.erase(first);
  }
}

void ended_sessions::prune(std::int64_t now) {
  while (!by_expiry_.empty() && by_expiry_.begin()->first <= now) {
    by_sid_.erase(by_expiry_.begin()->second);
    by_expiry_.erase(by_expiry_.begin());
  }
}

}  // namespace manifold::proxy
