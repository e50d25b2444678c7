#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/config/config.hpp"
#include "manifold/upstream/upstream.hpp"

namespace manifold::upstream {

// What a supervised upstream says about itself, for /readyz, `manifold status` and drills.
struct supervision_status {
  upstream_state state = upstream_state::created;
  std::uint64_t restarts = 0;
  std::string last_error;  // empty: none yet
  std::optional<std::chrono::system_clock::time_point> last_success;
  std::string breaker = "closed";  // closed | open | half-open
  std::optional<double> probe_latency_ms;
  std::size_t probe_failures = 0;  // in a row
  std::size_t in_flight = 0;
  std::uint64_t faults_injected = 0;
  std::uint64_t retries = 0;  // calls sent again after a transport break
  std::optional<std::chrono::steady_clock::time_point> next_attempt;  // backing off until
};

// What the gateway knows about one call that the upstream does not: its deadline and whether
// it may be sent again after a transport break (the tool is read-only or idempotent, or the
// config says `retry: true`).
struct call_policy {
  std::chrono::milliseconds timeout{0};  // 0: the server's `timeout`
  bool retry = false;
};

// One upstream kept alive: a client session (upstream.hpp) that is replaced by a fresh one
// (a new process, a new connection) when it crashes, fails its health probes or goes idle.
// - Restarts after exponential backoff with jitter; after restart.max_restarts in a row it
//   stays `failed` until retry_now() (a reload).
// - Calls in flight when the link breaks end at once with connection_closed; a call whose
//   policy allows it is sent once more when the upstream is back (within its deadline), the
//   others say that their outcome is unknown.
// - Calls while it is down fail at once ("temporarily unavailable"); a circuit breaker fails
//   them at once after breaker.failures timeouts or breaks in a row, for breaker.cooldown,
//   then lets one probe call through.
// - `ping` every health.interval: a failed probe marks it degraded, health.failures in a row
//   restart it.
// - start: lazy / idle_timeout: idle (no process) until a call needs it, and again after
//   idle_timeout without calls.
// - Faults (config `faults:`) injected on tools/call, each logged and counted.
// Every state change is logged once with its reason and reported to on_state().
// Thread: the executor's.
class supervised_upstream : public upstream {
 public:
  using state_handler = std::function<void(upstream_state previous, upstream_state next)>;
  using policy_fn = std::function<call_policy(std::string_view method, const json& params)>;

  virtual void on_state(state_handler handler) = 0;
  virtual void set_policy(policy_fn policy) = 0;
  // The faults whose `server` glob matches this upstream (counters start again).
  virtual void set_faults(std::vector<config::fault_rule> rules) = 0;
  // New supervision settings (a reload), applied without a restart.
  virtual void reconfigure(const config::supervision_config& settings) = 0;
  // A failed upstream (crash loop, restart: false) is started again now.
  virtual void retry_now() = 0;
  // Stops the process and goes idle; the next call that needs it starts it (start: lazy).
  virtual boost::asio::awaitable<void> park(std::string why) = 0;
  // A drill: the action now, as the fault would do it on a call (crash, stall for `duration`).
  virtual void inject(config::fault_action action, std::chrono::milliseconds duration) = 0;
  [[nodiscard]] virtual supervision_status supervision() const = 0;
  [[nodiscard]] virtual const config::server_config& settings() const = 0;
};

// A fresh client session over a fresh transport, each time it is called.
using session_factory = std::function<std::shared_ptr<upstream>()>;

std::shared_ptr<supervised_upstream> make_supervised_upstream(boost::asio::any_io_executor executor,
                                                              const config::server_config& server,
                                                              session_factory factory);

// `pattern` with `*` (any run) and `?` (one character) matches all of `text`.
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace manifold::upstream
