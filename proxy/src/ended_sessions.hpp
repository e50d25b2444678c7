#pragma once

// Private to proxy/: sealed sessions a host ended (DELETE) on this replica. A sealed id
// would otherwise open again until it expires; the entry lasts exactly that long. Bounded:
// when full, the entry that would expire first is dropped (it is the closest to being
// refused anyway). Thread: the io thread.

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

namespace manifold::proxy {

class ended_sessions {
 public:
  explicit ended_sessions(std::size_t capacity) : capacity_(capacity) {}

  // `sid` ended; its sealed id expires at `expires` (Unix seconds).
  void add(const std::string& sid, std::int64_t expires, std::int64_t now);
  [[nodiscard]] bool contains(const std::string& sid) const { return by_sid_.count(sid) != 0; }
  [[nodiscard]] std::size_t size() const { return by_sid_.size(); }
  void set_capacity(std::size_t capacity, std::int64_t now);

 private:
  void prune(std::int64_t now);

  std::size_t capacity_;
  std::multimap<std::int64_t, std::string> by_expiry_;
  std::unordered_map<std::string, std::multimap<std::int64_t, std::string>::iterator> by_sid_;
};

}  // namespace manifold::proxy
