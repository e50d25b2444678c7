#pragma once

#include <array>
#include <chrono>
#include <deque>
#include <map>
#include <string>
#include <string_view>

#include "manifold/exec/render.hpp"

namespace manifold::exec {

// Approvals bound to an exact run. A preview tool's successful run issues a plan_id for the
// command its target tool WOULD run with the same arguments; the target runs only when it
// presents that plan_id, for the same tool and the same binary, argv and stdin (compared
// as an HMAC-SHA256 under a key drawn at random per process), before the plan expires, and
// only once. At most `capacity` plans are held; the oldest give way.
// Thread: one (the server's).
class plan_store {
 public:
  using clock = std::chrono::steady_clock;
  enum class verdict { accepted, unknown, spent, expired, other_command };

  explicit plan_store(std::size_t capacity = 1024);

  std::string issue(std::string_view tool, const rendered_command& command, clock::time_point now,
                    std::chrono::milliseconds ttl);
  // Accepted plans are spent: a second redeem says so.
  verdict redeem(std::string_view plan_id, std::string_view tool, const rendered_command& command,
                 clock::time_point now);

  static std::string_view describe(verdict v);

 private:
  using digest = std::array<unsigned char, 32>;
  struct plan {
    std::string tool;
    digest mac{};
    clock::time_point expires;
  };
  digest mac_of(std::string_view tool, const rendered_command& command) const;
  void make_room(clock::time_point now);

  std::size_t capacity_;
  std::array<unsigned char, 32> key_{};
  std::map<std::string, plan> plans_;
  std::deque<std::string> spent_;  // recently redeemed ids, for a clear message
};

}  // namespace manifold::exec
