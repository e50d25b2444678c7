#include "manifold/upstream/supervised_upstream.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <random>

#include "manifold/io/spawn.hpp"
#include "manifold/io/wake_list.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/text.hpp"

namespace manifold::upstream {

namespace asio = boost::asio;
namespace error_code = protocol::error_code;
using protocol::rpc_reply;
using std::chrono::milliseconds;
using clock = std::chrono::steady_clock;

bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

namespace {

constexpr milliseconds retire_budget{1500};
// The longest a loop waits for settings to change when its feature is off.
constexpr std::chrono::hours settings_poll{1};

std::string describe(milliseconds d) {
  if (d.count() >= 10'000 && d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

std::string_view action_name(config::fault_action a) {
  switch (a) {
    case config::fault_action::delay:
      return "delay";
    case config::fault_action::error:
      return "error";
    case config::fault_action::is_error:
      return "is_error";
    case config::fault_action::drop:
      return "drop";
    case config::fault_action::crash:
      return "crash";
    case config::fault_action::garbage:
      return "garbage";
    case config::fault_action::stall:
      return "stall";
  }
  return "?";
}

// What a fault does to one call: answer it without the upstream, or go on with something
// done to the wire.
struct fault_plan {
  std::optional<rpc_reply> answer;
  wire_fault wire = wire_fault::none;
  bool crash = false;
};

// GCC 12 reports the recycling allocator of asio's coroutine frames as a mismatched
// new/delete in this class's larger coroutines (a false positive).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

class supervised final : public supervised_upstream,
                         public std::enable_shared_from_this<supervised> {
 public:
  supervised(asio::any_io_executor executor, const config::server_config& server,
             session_factory factory)
      : executor_(std::move(executor)),
        server_(server),
        factory_(std::move(factory)),
        restart_timer_(executor_),
        probe_timer_(executor_),
        idle_timer_(executor_),
        rng_(std::random_device{}()) {
    if (server_.supervision.start == config::start_mode::lazy) state_ = upstream_state::idle;
  }

  // --- upstream ---
  [[nodiscard]] const std::string& name() const override { return server_.name; }
  [[nodiscard]] upstream_state state() const override { return state_; }
  [[nodiscard]] const upstream_info& info() const override { return info_; }
  [[nodiscard]] std::string problem() const override { return problem_; }
  void on_notification(notification_handler handler) override {
    on_notification_ = std::move(handler);
  }
  void on_request(request_handler handler) override { on_request_ = std::move(handler); }
  // Every session's traffic, this one's and those after a restart.
  void on_traffic(traffic_handler handler) override {
    on_traffic_ = std::move(handler);
    if (inner_) forward_traffic(*inner_);
  }
  void on_probe(probe_handler handler) override { on_probe_ = std::move(handler); }
  void on_ended(std::function<void(const std::string&)> handler) override {
    on_ended_ = std::move(handler);
  }
  void abort() override {
    if (inner_) inner_->abort();
  }
  void arm(wire_fault fault) override {
    if (inner_) inner_->arm(fault);
  }
  void stall(milliseconds duration) override {
    if (inner_) inner_->stall(duration);
  }

  asio::awaitable<void> launch() override {
    if (stopping_ || state_ != upstream_state::created) co_return;
    if (!inner_) inner_ = make_inner();
    const auto inner = inner_;
    co_await inner->launch();
  }

  asio::awaitable<bool> start(json client_capabilities) override {
    caps_ = std::move(client_capabilities);
    if (stopping_) co_return false;
    if (is_serving(state_)) co_return true;
    if (attempting_)
      co_return co_await wait_attempt(clock::now() + server_.startup_timeout + milliseconds(500));
    const bool ok = co_await attempt();
    if (!ok && !stopping_ && state_ == upstream_state::starting) after_failure(problem_);
    co_return ok;
  }

  asio::awaitable<rpc_reply> call(std::string method, json params,
                                  protocol::call_options options) override {
    const auto policy = policy_ ? policy_(method, params) : call_policy{};
    const auto timeout = options.timeout.count() > 0  ? options.timeout
                         : policy.timeout.count() > 0 ? policy.timeout
                                                      : server_.timeout;
    const auto deadline = clock::now() + timeout;
    if (state_ == upstream_state::idle) co_await wake(deadline);
    bool probe = false;
    if (auto refused = refusal(probe)) co_return std::move(*refused);
    auto plan = co_await plan_fault(method, params, deadline);
    if (plan.answer) {
      if (probe) probe_in_flight_ = false;
      co_return std::move(*plan.answer);
    }
    json again = policy.retry ? params : json();
    auto first =
        co_await send(method, std::move(params), options.control, options.tag, options.input, timeout, deadline,
                      probe, plan);
    if (!first.broke) co_return std::move(first.reply);
    auto reply = std::move(first.reply);
    const bool cancelled = options.control && options.control->cancelled;
    if (!policy.retry || cancelled) co_return unknown_outcome(method, std::move(reply));
    // Safe to send again: once the upstream is back, within the call's own deadline.
    spdlog::info("[{}] {} broke with the link ({}); it is sent again once the upstream is back",
                 server_.name, method, protocol::log_safe(reply.error->message, 200));
    // (A fresh session: the one the call broke on may not have been replaced yet.)
    while ((!is_serving(state_) || generation_ == first.generation) && !stopping_ &&
           clock::now() < deadline) {
      if (state_ == upstream_state::failed || state_ == upstream_state::closed) break;
      co_await changed_.wait_until(deadline);
    }
    if (!is_serving(state_) || generation_ == first.generation)
      co_return unknown_outcome(method, std::move(reply));
    if (auto refused = refusal(probe)) co_return std::move(*refused);
    ++retries_;
    fault_plan none;
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock::now());
    auto second =
        co_await send(method, std::move(again), options.control, options.tag, options.input, left, deadline,
                      probe, none);
    if (second.broke) co_return unknown_outcome(method, std::move(second.reply));
    co_return std::move(second.reply);
  }

  void notify(std::string method, json params) override {
    if (inner_ && is_serving(state_)) inner_->notify(std::move(method), std::move(params));
  }

  asio::awaitable<list_outcome> list_all(std::string method, std::string key) override {
    if (!inner_ || !is_serving(state_)) {
      list_outcome out;
      out.error =
          protocol::rpc_error{error_code::connection_closed, unavailable_text(), std::nullopt};
      co_return out;
    }
    // In flight like a call: an idle stop waits for it (a listing is never cut short).
    const auto inner = inner_;
    ++in_flight_;
    last_activity_ = clock::now();
    auto out = co_await inner->list_all(std::move(method), std::move(key));
    --in_flight_;
    last_activity_ = clock::now();
    if (in_flight_ == 0) drained_.wake_all();
    co_return out;
  }

  asio::awaitable<void> drain() override {
    const auto deadline = clock::now() + server_.timeout;
    while (in_flight_ > 0 && clock::now() < deadline) co_await drained_.wait_until(deadline);
  }

  asio::awaitable<void> stop(milliseconds budget) override {
    if (stopping_) co_return;
    stopping_ = true;
    ++restart_epoch_;
    cancel_timers();
    auto old = std::exchange(inner_, nullptr);
    ++generation_;
    set_state(upstream_state::closed, "stopped");
    settings_changed_.wake_all();
    if (old) co_await old->stop(budget);
  }

  // --- supervised_upstream ---
  void on_state(state_handler handler) override { on_state_ = std::move(handler); }
  void set_policy(policy_fn policy) override { policy_ = std::move(policy); }

  void set_faults(std::vector<config::fault_rule> rules) override {
    if (rules == faults_) return;
    if (!rules.empty() || !faults_.empty()) {
      spdlog::warn("[{}] {} fault rule{} active", server_.name, rules.size(),
                   rules.size() == 1 ? "" : "s");
    }
    faults_ = std::move(rules);
    fault_counts_.assign(faults_.size(), 0);
  }

  void reconfigure(const config::supervision_config& settings) override {
    server_.supervision = settings;
    if (!settings.breaker.enabled) breaker_open_ = false;
    settings_changed_.wake_all();
    cancel_timer(probe_timer_);
    cancel_timer(idle_timer_);
  }

  void retry_now() override {
    if (state_ != upstream_state::failed || stopping_) return;
    spdlog::info("[{}] retrying after the config was reloaded", server_.name);
    streak_ = 0;
    ++restart_epoch_;
    asio::co_spawn(executor_, restart_now(shared_from_this()), io::log_failure("upstream restart"));
  }

  asio::awaitable<void> park(std::string why) override {
    if (stopping_ || state_ == upstream_state::idle || attempting_ || in_flight_ > 0) co_return;
    ++restart_epoch_;
    cancel_timer(restart_timer_);
    auto old = std::exchange(inner_, nullptr);
    ++generation_;
    set_state(upstream_state::idle, why);
    if (old) co_await old->stop(retire_budget);
  }

  void inject(config::fault_action action, milliseconds duration) override {
    if (!inner_) return;
    ++faults_injected_;
    spdlog::warn("[{}] fault injected by a drill: {}", server_.name, action_name(action));
    if (action == config::fault_action::crash) inner_->abort();
    if (action == config::fault_action::stall) inner_->stall(duration);
  }

  [[nodiscard]] supervision_status supervision() const override {
    supervision_status out;
    out.state = state_;
    out.restarts = restarts_;
    out.last_error = last_error_;
    out.last_success = last_success_;
    out.breaker = !breaker_open_                                    ? "closed"
                  : probe_in_flight_ || clock::now() >= open_until_ ? "half-open"
                                                                    : "open";
    out.probe_latency_ms = probe_latency_ms_;
    out.probe_failures = probe_failures_;
    out.in_flight = in_flight_;
    out.faults_injected = faults_injected_;
    out.retries = retries_;
    out.next_attempt = next_attempt_;
    return out;
  }

  [[nodiscard]] const config::server_config& settings() const override { return server_; }

 private:
  const config::supervision_config& sup() const { return server_.supervision; }

  // ---- sessions ----

  std::shared_ptr<upstream> make_inner() {
    auto u = factory_();
    const auto gen = ++generation_;
    std::weak_ptr<supervised> weak = weak_from_this();
    u->on_notification([weak, gen](const protocol::message& msg) {
      auto self = weak.lock();
      if (self && gen == self->generation_ && self->on_notification_) self->on_notification_(msg);
    });
    u->on_request([weak](protocol::message msg) -> asio::awaitable<rpc_reply> {
      const auto self = weak.lock();
      if (!self || !self->on_request_) {
        co_return rpc_reply::failure(error_code::method_not_found, "no host is connected");
      }
      const auto handler = self->on_request_;
      co_return co_await handler(std::move(msg));
    });
    u->on_ended([weak, gen](const std::string& why) {
      if (auto self = weak.lock()) self->ended(gen, why);
    });
    if (on_traffic_) forward_traffic(*u);
    inner_used_ = false;
    return u;
  }

  void forward_traffic(upstream& u) {
    u.on_traffic([weak = weak_from_this()](bool outbound, const json& message, std::size_t bytes,
                                           std::string_view tag, std::string_view answers) {
      if (auto self = weak.lock(); self && self->on_traffic_) self->on_traffic_(outbound, message, bytes, tag, answers);
    });
  }

  // Ends the current session (a fresh one comes with the next attempt); its calls in flight
  // fail at once.
  void retire() {
    auto old = std::exchange(inner_, nullptr);
    ++generation_;
    if (!old) return;
    asio::co_spawn(
        executor_, [old]() -> asio::awaitable<void> { co_await old->stop(retire_budget); },
        io::log_failure("retiring an upstream session"));
  }

  // One start: a fresh session (or the one launch() started), its handshake, state ready or
  // not. The caller decides what a failure leads to.
  asio::awaitable<bool> attempt() {
    attempting_ = true;
    set_state(upstream_state::starting, starting_for_call_ ? "a call needs it"
                                        : restarts_ == 0   ? "starting"
                                                         : "restart " + std::to_string(restarts_));
    if (!inner_ || inner_used_) {
      retire();
      inner_ = make_inner();
    }
    inner_used_ = true;
    const auto inner = inner_;
    const auto gen = generation_;
    const bool ok = co_await inner->start(caps_);
    attempting_ = false;
    if (stopping_ || gen != generation_) {
      changed_.wake_all();
      co_return false;
    }
    if (ok) {
      info_ = inner->info();
      problem_.clear();
      up_since_ = clock::now();
      last_activity_ = *up_since_;
      probe_failures_ = 0;
      set_state(upstream_state::ready,
                restarts_ == 0 ? "started" : "back after restart " + std::to_string(restarts_));
      start_loops();
    } else {
      problem_ = inner->problem();
      last_error_ = problem_;
    }
    changed_.wake_all();
    co_return ok;
  }

  asio::awaitable<bool> wait_attempt(clock::time_point deadline) {
    while (attempting_ && clock::now() < deadline) co_await changed_.wait_until(deadline);
    co_return is_serving(state_);
  }

  // The session ended on its own.
  void ended(std::uint64_t gen, const std::string& why) {
    if (stopping_ || gen != generation_ || !is_serving(state_)) return;
    went_down(why);
  }

  void went_down(const std::string& why) {
    last_error_ = why;
    problem_ = why;
    retire();
    if (sup().restart.enabled && up_since_ &&
        clock::now() - *up_since_ >= sup().restart.reset_after)
      streak_ = 0;
    after_failure(why);
  }

  // Down (a crash, failed probes, a failed start): back off and restart, or stay failed.
  void after_failure(const std::string& why) {
    const auto& r = sup().restart;
    if (!r.enabled) {
      problem_ = why + "; restart: false keeps it down until a reload";
      set_state(upstream_state::failed, problem_);
      return;
    }
    if (streak_ >= r.max_restarts) {
      problem_ = why + " (" + std::to_string(streak_) + " restart" + (streak_ == 1 ? "" : "s") +
                 " in a row, restart.max_restarts); down until a reload";
      set_state(upstream_state::failed, problem_);
      return;
    }
    const auto delay = backoff_delay(streak_);
    ++streak_;
    next_attempt_ = clock::now() + delay;
    set_state(upstream_state::backing_off, why + "; restart " + std::to_string(streak_) + " of " +
                                               std::to_string(r.max_restarts) + " in " +
                                               describe(delay));
    asio::co_spawn(executor_, restart_later(shared_from_this(), delay, ++restart_epoch_),
                   io::log_failure("upstream restart"));
  }

  // backoff * 2^n, at most max_backoff, shortened at random by up to `jitter` of itself.
  milliseconds backoff_delay(std::size_t n) {
    const auto& r = sup().restart;
    auto d = static_cast<double>(r.backoff.count());
    for (std::size_t i = 0; i < n && d < static_cast<double>(r.max_backoff.count()); ++i) d *= 2;
    d = std::min(d, static_cast<double>(r.max_backoff.count()));
    std::uniform_real_distribution<double> cut(0.0, r.jitter);
    d -= d * cut(rng_);
    return milliseconds(std::max<std::int64_t>(1, static_cast<std::int64_t>(d)));
  }

  static asio::awaitable<void> restart_later(std::shared_ptr<supervised> self, milliseconds delay,
                                             std::uint64_t epoch) {
    self->restart_timer_.expires_after(delay);
    co_await self->restart_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (self->stopping_ || epoch != self->restart_epoch_ ||
        self->state_ != upstream_state::backing_off)
      co_return;
    co_await restart_now(self);
  }

  static asio::awaitable<void> restart_now(std::shared_ptr<supervised> self) {
    self->next_attempt_.reset();
    ++self->restarts_;
    const bool ok = co_await self->attempt();
    if (!ok && !self->stopping_ && self->state_ == upstream_state::starting)
      self->after_failure(self->problem_);
  }

  static asio::awaitable<void> start_from_idle(std::shared_ptr<supervised> self) {
    self->starting_for_call_ = true;
    const bool ok = co_await self->attempt();
    self->starting_for_call_ = false;
    if (!ok && !self->stopping_ && self->state_ == upstream_state::starting)
      self->after_failure(self->problem_);
  }

  // A call for an idle upstream: start it, and wait for the outcome within `deadline`.
  asio::awaitable<void> wake(clock::time_point deadline) {
    if (state_ == upstream_state::idle && !attempting_ && !stopping_) {
      asio::co_spawn(executor_, start_from_idle(shared_from_this()),
                     io::log_failure("upstream start"));
    }
    while ((state_ == upstream_state::idle || attempting_) && !stopping_ &&
           clock::now() < deadline) {
      co_await changed_.wait_until(deadline);
    }
  }

  void set_state(upstream_state next, const std::string& why) {
    if (next == state_) return;
    const auto previous = std::exchange(state_, next);
    const auto text = protocol::log_safe(why, 300);
    switch (next) {
      case upstream_state::ready:
      case upstream_state::starting:
      case upstream_state::idle:
      case upstream_state::closed:
        spdlog::info("[{}] {} -> {}: {}", server_.name, to_string(previous), to_string(next), text);
        break;
      case upstream_state::failed:
        spdlog::error("[{}] {} -> {}: {}", server_.name, to_string(previous), to_string(next),
                      text);
        break;
      default:
        spdlog::warn("[{}] {} -> {}: {}", server_.name, to_string(previous), to_string(next), text);
        break;
    }
    changed_.wake_all();
    if (on_state_) on_state_(previous, next);
  }

  // ---- calls ----

  [[nodiscard]] std::string unavailable_text() const {
    std::string out = "upstream '" + server_.name + "' is temporarily unavailable (" +
                      std::string(to_string(state_));
    if (!problem_.empty()) out += ": " + problem_;
    out += ")";
    if (state_ == upstream_state::backing_off && next_attempt_) {
      const auto wait = std::chrono::duration_cast<milliseconds>(*next_attempt_ - clock::now());
      out += "; it restarts in " + describe(std::max(wait, milliseconds(0)));
    } else if (state_ == upstream_state::failed) {
      out += "; it stays down until the config is reloaded";
    }
    return out;
  }

  rpc_reply unavailable() const {
    auto out = rpc_reply::failure(error_code::connection_closed, unavailable_text());
    out.error->data = json{{"upstream", server_.name}, {"state", to_string(state_)}};
    return out;
  }

  // Refused without reaching the upstream: down, or the breaker is open. `probe` is set when
  // this call is the breaker's half-open probe.
  std::optional<rpc_reply> refusal(bool& probe) {
    if (!is_serving(state_) || !inner_) return unavailable();
    if (!breaker_open_) return std::nullopt;
    const auto now = clock::now();
    if (now < open_until_ || probe_in_flight_) {
      const auto wait =
          std::chrono::duration_cast<milliseconds>(std::max(open_until_ - now, clock::duration(0)));
      auto out = rpc_reply::failure(
          error_code::connection_closed,
          "upstream '" + server_.name +
              "' is temporarily unavailable: its circuit breaker opened after " +
              std::to_string(sup().breaker.failures) + " failed calls in a row (" + last_error_ +
              "); " +
              (probe_in_flight_ ? std::string("a probe call is in flight")
                                : "the next call is let through in " + describe(wait)));
      out.error->data = json{{"upstream", server_.name}, {"breaker", "open"}};
      return out;
    }
    probe_in_flight_ = true;
    probe = true;
    return std::nullopt;
  }

  rpc_reply unknown_outcome(const std::string& method, rpc_reply reply) const {
    const auto why = reply.error->message;
    auto out = rpc_reply::failure(
        error_code::connection_closed,
        why + " while " + method +
            " was in flight; its outcome is unknown (it may or may not have run). " +
            (method == "tools/call"
                 ? "It was not sent again: only tools annotated readOnlyHint or idempotentHint, "
                   "or with `retry: true` under tools:, are retried."
                 : "It was not sent again."));
    out.error->data = json{{"upstream", server_.name}, {"outcome", "unknown"}};
    return out;
  }

  struct sent {
    rpc_reply reply;
    bool broke = false;  // the link broke under the call (not an error the upstream answered)
    std::uint64_t generation = 0;  // of the session it went to
  };

  asio::awaitable<sent> send(const std::string& method, json params,
                             std::shared_ptr<protocol::call_control> control,
                             std::shared_ptr<const std::string> tag, protocol::input_source* input,
                             milliseconds timeout, clock::time_point deadline, bool probe,
                             const fault_plan& plan) {
    const auto inner = inner_;
    const auto gen = generation_;
    // The whole deadline unless a fault's delay or a wait for a restart used some of it.
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock::now());
    protocol::call_options options;
    options.timeout = std::max(std::min(timeout, left + milliseconds(1)), milliseconds(1));
    options.control = std::move(control);
    options.tag = std::move(tag);  // who the call is for, for the traffic tap
    options.input = input;  // the host, should the upstream ask for input
    ++in_flight_;
    last_activity_ = clock::now();
    if (plan.wire != wire_fault::none) inner->arm(plan.wire);
    // The process is killed as the request goes out: the call is in flight when it dies and
    // can never be answered (a SIGKILLed process runs no more code).
    if (plan.crash) inner->abort();
    auto reply = co_await inner->call(method, std::move(params), std::move(options));
    --in_flight_;
    last_activity_ = clock::now();
    if (in_flight_ == 0) drained_.wake_all();
    const bool link_broke = !reply.ok() && !reply.cancelled &&
                            reply.error->code == error_code::connection_closed &&
                            (gen != generation_ || !is_serving(inner->state()));
    const bool timed_out =
        !reply.ok() && !reply.cancelled && reply.error->code == error_code::request_timeout;
    // A connection that could not be made or broke under one request (HTTP upstreams) is
    // manifold's own error, worded "upstream 'name' ...": it counts toward the breaker.
    const bool unreachable = !reply.ok() && !reply.cancelled &&
                             reply.error->code == error_code::connection_closed &&
                             reply.error->message.rfind("upstream '" + server_.name + "'", 0) == 0;
    account(link_broke || timed_out || unreachable, probe, reply);
    // A connection that failed: probe now rather than at the next interval, so a network
    // upstream that went away is reconnected (health.failures probes, then a restart).
    if (unreachable && sup().health.enabled) cancel_timer(probe_timer_);
    co_return sent{std::move(reply), link_broke, gen};
  }

  void account(bool failed, bool probe, const rpc_reply& reply) {
    if (probe) probe_in_flight_ = false;
    if (!failed) {
      if (reply.ok()) last_success_ = std::chrono::system_clock::now();
      fail_streak_ = 0;
      if (breaker_open_ && probe) {
        breaker_open_ = false;
        spdlog::info("[{}] breaker closed: the probe call succeeded", server_.name);
      }
      return;
    }
    last_error_ = reply.error->message;
    ++fail_streak_;
    const auto& b = sup().breaker;
    if (!b.enabled) return;
    if (probe || (!breaker_open_ && fail_streak_ >= b.failures)) {
      breaker_open_ = true;
      open_until_ = clock::now() + b.cooldown;
      spdlog::warn("[{}] breaker open for {}: {} failed call{} in a row ({})", server_.name,
                   describe(b.cooldown), fail_streak_, fail_streak_ == 1 ? "" : "s",
                   protocol::log_safe(last_error_, 200));
      asio::co_spawn(executor_, announce_half_open(shared_from_this(), open_until_),
                     io::log_failure("breaker"));
    }
  }

  // Logs when the cool-down of the breaker opened at `until` is over.
  static asio::awaitable<void> announce_half_open(std::shared_ptr<supervised> self,
                                                  clock::time_point until) {
    asio::steady_timer wait(self->executor_, until);
    co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    if (self->stopping_ || !self->breaker_open_ || self->open_until_ != until) co_return;
    spdlog::info("[{}] breaker half-open: the next call goes through as a probe",
                 self->server_.name);
  }

  // ---- faults ----

  asio::awaitable<fault_plan> plan_fault(const std::string& method, const json& params,
                                         clock::time_point deadline) {
    fault_plan plan;
    if (faults_.empty() || method != "tools/call") co_return plan;
    const auto tool = protocol::string_member(params, "name");
    if (!tool) co_return plan;
    const config::fault_rule* hit = nullptr;
    for (std::size_t i = 0; i < faults_.size(); ++i) {
      const auto& rule = faults_[i];
      if (!glob_match(rule.tool, *tool)) continue;
      const auto n = ++fault_counts_[i];
      bool fire = false;
      if (rule.every > 0) {
        fire = n % rule.every == 0;
      } else {
        std::uniform_real_distribution<double> draw(0.0, 1.0);
        fire = draw(rng_) < rule.probability;
      }
      if (fire && hit == nullptr) hit = &rule;
    }
    if (hit == nullptr) co_return plan;
    ++faults_injected_;
    spdlog::warn("[{}] fault injected: {} on tools/call {} ({}:{})", server_.name,
                 action_name(hit->action), protocol::log_safe(*tool, 100), hit->position.file,
                 hit->position.line);
    switch (hit->action) {
      case config::fault_action::delay: {
        asio::steady_timer wait(executor_, std::min(clock::now() + hit->delay, deadline));
        co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
        if (clock::now() >= deadline) {
          plan.answer = rpc_reply::failure(
              error_code::request_timeout,
              "upstream '" + server_.name + "' did not answer tools/call in time (injected delay)");
        }
        break;
      }
      case config::fault_action::error:
        plan.answer = rpc_reply::failure(hit->code, hit->message);
        break;
      case config::fault_action::is_error: {
        json content = json::array();
        content.push_back(json{{"type", "text"}, {"text", hit->message}});
        plan.answer =
            rpc_reply{json{{"content", std::move(content)}, {"isError", true}}, std::nullopt};
        break;
      }
      case config::fault_action::drop:
        plan.wire = wire_fault::drop_reply;
        break;
      case config::fault_action::garbage:
        plan.wire = wire_fault::garbage_reply;
        break;
      case config::fault_action::crash:
        plan.crash = true;
        break;
      case config::fault_action::stall:
        if (inner_) inner_->stall(hit->delay);
        break;
    }
    co_return plan;
  }

  // ---- health probes and idle stop ----

  void start_loops() {
    if (loops_started_) return;
    loops_started_ = true;
    asio::co_spawn(executor_, probe_loop(shared_from_this()), io::log_failure("health probes"));
    asio::co_spawn(executor_, idle_loop(shared_from_this()), io::log_failure("idle stop"));
  }

  static void cancel_timer(asio::steady_timer& timer) { timer.cancel(); }
  void cancel_timers() {
    cancel_timer(restart_timer_);
    cancel_timer(probe_timer_);
    cancel_timer(idle_timer_);
  }

  static asio::awaitable<void> probe_loop(std::shared_ptr<supervised> self) {
    while (!self->stopping_) {
      const auto health = self->sup().health;
      if (!health.enabled) {
        co_await self->settings_changed_.wait_until(clock::now() + settings_poll);
        continue;
      }
      // A failed probe is confirmed sooner: the next one after `timeout`, not `interval`.
      self->probe_timer_.expires_after(self->probe_failures_ > 0 ? std::min(health.interval, health.timeout)
                                                                 : health.interval);
      co_await self->probe_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (self->stopping_ || !is_serving(self->state_) || !self->inner_) continue;
      co_await self->probe(health);
    }
  }

  asio::awaitable<void> probe(config::health_config health) {
    const auto inner = inner_;
    const auto gen = generation_;
    const auto started = clock::now();
    protocol::call_options options;
    options.timeout = health.timeout;
    const std::string method = "ping";
    const auto reply = co_await inner->call(method, json::object(), options);
    if (stopping_ || gen != generation_) co_return;
    const bool alive = reply.ok() || (reply.error->code != error_code::request_timeout &&
                                      reply.error->code != error_code::connection_closed);
    if (on_probe_) on_probe_(clock::now() - started, alive);
    if (alive) {
      probe_latency_ms_ = std::chrono::duration<double, std::milli>(clock::now() - started).count();
      probe_failures_ = 0;
      if (probed_generation_ != generation_) {  // once per session: probes work
        probed_generation_ = generation_;
        spdlog::info("[{}] health probe answered in {:.2f} ms (every {} ms)", server_.name,
                     *probe_latency_ms_, health.interval.count());
      }
      if (state_ == upstream_state::degraded)
        set_state(upstream_state::ready, "health probe answered again");
      co_return;
    }
    ++probe_failures_;
    const auto why = "health probe failed (" + reply.error->message + ")";
    last_error_ = why;
    if (probe_failures_ >= health.failures) {
      went_down(std::to_string(probe_failures_) + " health probe" +
                (probe_failures_ == 1 ? "" : "s") + " failed in a row (" + reply.error->message +
                ")");
    } else {
      set_state(upstream_state::degraded, why + ", " + std::to_string(probe_failures_) + " of " +
                                              std::to_string(health.failures));
    }
  }

  static asio::awaitable<void> idle_loop(std::shared_ptr<supervised> self) {
    while (!self->stopping_) {
      const auto limit = self->sup().idle_timeout;
      if (limit.count() <= 0) {
        co_await self->settings_changed_.wait_until(clock::now() + settings_poll);
        continue;
      }
      const auto now = clock::now();
      if (self->state_ != upstream_state::ready) {
        co_await self->changed_.wait_until(now + limit);
        continue;
      }
      const auto due = self->last_activity_ + limit;
      if (self->in_flight_ == 0 && now >= due) {
        std::string why =
            "no calls for " + describe(limit) + " (idle_timeout); starts again at the next call";
        co_await self->park(std::move(why));
        continue;
      }
      // A call in flight past the due time: look again one idle_timeout later.
      self->idle_timer_.expires_at(now >= due ? now + limit : due);
      co_await self->idle_timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  asio::any_io_executor executor_;
  config::server_config server_;
  session_factory factory_;
  std::shared_ptr<upstream> inner_;
  bool inner_used_ = false;       // start() was tried on inner_ (else launch() made it)
  std::uint64_t generation_ = 0;  // bumped whenever inner_ changes: stale events are ignored
  upstream_state state_ = upstream_state::created;
  upstream_info info_;  // from the last session that became ready
  std::string problem_;
  std::string last_error_;
  json caps_ = json::object();
  bool stopping_ = false;
  bool attempting_ = false;
  bool loops_started_ = false;
  bool starting_for_call_ = false;
  // Restarts.
  std::uint64_t restarts_ = 0;
  std::size_t streak_ = 0;  // restarts in a row without restart.reset_after of uptime
  std::uint64_t restart_epoch_ = 0;
  std::optional<clock::time_point> up_since_;
  std::optional<clock::time_point> next_attempt_;
  asio::steady_timer restart_timer_;
  // Health probes, idle stop.
  asio::steady_timer probe_timer_;
  asio::steady_timer idle_timer_;
  std::size_t probe_failures_ = 0;
  std::uint64_t probed_generation_ = 0;  // the session whose first answered probe was logged
  std::optional<double> probe_latency_ms_;
  clock::time_point last_activity_ = clock::now();
  // Calls and the breaker.
  std::size_t in_flight_ = 0;
  std::uint64_t retries_ = 0;
  std::optional<std::chrono::system_clock::time_point> last_success_;
  std::size_t fail_streak_ = 0;
  bool breaker_open_ = false;
  bool probe_in_flight_ = false;
  clock::time_point open_until_{};
  // Faults.
  std::vector<config::fault_rule> faults_;
  std::vector<std::uint64_t> fault_counts_;
  std::uint64_t faults_injected_ = 0;
  std::mt19937_64 rng_;
  // Waiters: any state change; no call in flight; settings changed.
  io::wake_list changed_;
  io::wake_list drained_;
  io::wake_list settings_changed_;
  notification_handler on_notification_;
  request_handler on_request_;
  std::function<void(const std::string&)> on_ended_;
  traffic_handler on_traffic_;
  probe_handler on_probe_;
  state_handler on_state_;
  policy_fn policy_;
};

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

}  // namespace

std::shared_ptr<supervised_upstream> make_supervised_upstream(asio::any_io_executor executor,
                                                              const config::server_config& server,
                                                              session_factory factory) {
  return std::make_shared<supervised>(std::move(executor), server, std::move(factory));
}

}  // namespace manifold::upstream
