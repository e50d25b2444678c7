#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include <map>
#include <mutex>
#include <unordered_map>

#include "manifold/io/event.hpp"
#include "manifold/io/request_tracker.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/modern.hpp"
#include "manifold/protocol/text.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/protocol_version.hpp"
#include "manifold/upstream/upstream.hpp"
#include "manifold/version.hpp"

namespace manifold::upstream {

namespace asio = boost::asio;
namespace error_code = protocol::error_code;
using std::chrono::milliseconds;
using clock = std::chrono::steady_clock;

std::string_view to_string(upstream_state state) {
  switch (state) {
    case upstream_state::created:
      return "created";
    case upstream_state::launched:
      return "launched";
    case upstream_state::starting:
      return "starting";
    case upstream_state::ready:
      return "ready";
    case upstream_state::degraded:
      return "degraded";
    case upstream_state::backing_off:
      return "backing-off";
    case upstream_state::idle:
      return "idle";
    case upstream_state::failed:
      return "failed";
    case upstream_state::closed:
      return "stopped";
  }
  return "unknown";
}

namespace {

constexpr std::size_t max_pages = 10'000;  // a cursor loop bound against a misbehaving server

// `protocol: auto` decides once per upstream and process: a later start of the same server
// (a restart, a session's own instance) that found the handshake era asks no more. Keyed by
// the server's name and how it is reached.
class era_cache {
 public:
  static std::string key(const config::server_config& s) {
    std::string out = s.name + '\n' + s.command + '\n' + s.url;
    for (const auto& a : s.args) out += '\n' + a;
    return out;
  }
  std::optional<bool> modern(const std::string& k) {
    const std::lock_guard lock(mutex_);
    const auto it = found_.find(k);
    if (it == found_.end()) return std::nullopt;
    return it->second;
  }
  void remember(const std::string& k, bool modern) {
    const std::lock_guard lock(mutex_);
    if (found_.size() >= 4096) found_.clear();  // a bound: entries are cheap to find again
    found_[k] = modern;
  }

 private:
  std::mutex mutex_;
  std::map<std::string, bool> found_;
};

era_cache& eras() {
  static era_cache cache;
  return cache;
}

std::string describe_ms(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

// Who a call is for (call_options::tag) and its method, told to the traffic watcher with
// the request and its reply.
struct call_tag {
  std::string tag;
  std::string method;
};

class client_session final : public upstream, public std::enable_shared_from_this<client_session> {
 public:
  client_session(asio::any_io_executor executor, const config::server_config& server,
                 std::unique_ptr<transport> link, const config::limits_config& limits)
      : executor_(std::move(executor)), server_(server), link_(std::move(link)),
        max_message_bytes_(limits.max_message_bytes), max_in_flight_(limits.upstream_max_in_flight) {}

  [[nodiscard]] const std::string& name() const override { return server_.name; }
  [[nodiscard]] upstream_state state() const override { return state_; }
  [[nodiscard]] const upstream_info& info() const override { return info_; }
  [[nodiscard]] std::string problem() const override { return problem_; }
  void on_notification(notification_handler handler) override {
    on_notification_ = std::move(handler);
  }
  void on_request(request_handler handler) override { on_request_ = std::move(handler); }
  void on_traffic(traffic_handler handler) override { on_traffic_ = std::move(handler); }
  void on_ended(std::function<void(const std::string&)> handler) override { on_ended_ = std::move(handler); }

  void abort() override {
    if (!channel_ || state_ == upstream_state::closed || state_ == upstream_state::failed) return;
    if (!link_->abort()) channel_->close();
  }
  void arm(wire_fault fault) override { armed_ = fault; }
  void stall(milliseconds duration) override { stalled_until_ = clock::now() + duration; }

  asio::awaitable<void> launch() override {
    if (launch_started_) {  // a second caller waits for the first
      co_await launched_.wait_until(launch_deadline_);
      co_return;
    }
    launch_started_ = true;
    launch_deadline_ = clock::now() + server_.startup_timeout;
    std::string open_error;
    try {
      channel_ = co_await link_->open();
    } catch (const std::exception& e) {
      open_error = e.what();
    }
    if (!channel_) {
      co_await fail("failed to start: " + open_error);
      launched_.set();
      co_return;
    }
    state_ = upstream_state::launched;
    asio::co_spawn(executor_, read_loop(shared_from_this()), io::log_failure("upstream reader"));
    launched_.set();
  }

  asio::awaitable<bool> start(json client_capabilities) override {
    co_await launch();
    if (state_ != upstream_state::launched) co_return false;
    state_ = upstream_state::starting;
    // The deadline counts from the launch: a child that takes all of it to boot fails.
    const auto deadline = std::max(launch_deadline_, clock::now() + milliseconds(100));
    const bool probe = server_.protocol == config::server_config::era::modern ||
                       (server_.protocol == config::server_config::era::automatic &&
                        eras().modern(era_cache::key(server_)).value_or(true));
    if (probe) {
      if (const auto decided = co_await start_modern(client_capabilities, deadline)) {
        if (*decided && server_.protocol == config::server_config::era::automatic) {
          eras().remember(era_cache::key(server_), true);
        }
        co_return *decided;
      }
      if (server_.protocol == config::server_config::era::automatic) eras().remember(era_cache::key(server_), false);
    }
    json params{{"protocolVersion", protocol::latest_version},
                {"capabilities", std::move(client_capabilities)},
                {"clientInfo", {{"name", "manifold"}, {"version", manifold::version}}}};
    // (the method as a local: GCC 12 mis-destroys temporaries passed to a coroutine)
    std::string method = "initialize";
    auto reply = co_await request(std::move(method), std::move(params), deadline,
                                  server_.startup_timeout, nullptr, nullptr);
    if (!reply.ok()) {
      if (reply.error->code == error_code::request_timeout) {
        co_return co_await fail("did not answer initialize within " +
                                describe_ms(server_.startup_timeout));
      }
      co_return co_await fail("initialize failed: " + reply.error->message);
    }
    if (auto why = read_initialize_result(reply.result); !why.empty()) {
      co_return co_await fail(why);
    }
    notify("notifications/initialized", nullptr);
    state_ = upstream_state::ready;
    spdlog::info("[{}] ready: {} {} (protocol {})", server_.name,
                 protocol::log_safe(protocol::string_or(info_.server_info, "name", "?"), 100),
                 protocol::log_safe(protocol::string_or(info_.server_info, "version", "?"), 100),
                 info_.protocol_version);
    co_return true;
  }

  // MCP 2026-07-28: server/discover decides (auto falls back to initialize on anything but a
  // discover result naming 2026-07-28, as the spec's versioning page says). True: started
  // modern; false: failed (protocol: modern); nullopt: use initialize.
  asio::awaitable<std::optional<bool>> start_modern(json& client_capabilities, clock::time_point deadline) {
    const bool must = server_.protocol == config::server_config::era::modern;
    // (every argument is built outside co_await: GCC 12 mis-compiles ?: temporaries inside it)
    const auto probe_deadline = must ? deadline : std::min(deadline, clock::now() + discover_probe);
    const auto probe_timeout = must ? server_.startup_timeout : discover_probe;
    auto probe = envelope(client_capabilities, json::object());
    std::string discover_method = "server/discover";
    auto discover = co_await request(std::move(discover_method), std::move(probe), probe_deadline,
                                     probe_timeout, nullptr, nullptr);
    if (!discover.ok() && protocol::modern::rejection_offers_modern(*discover.error)) {
      // -32022 whose supported list names 2026-07-28: a modern server; ask once more.
      spdlog::info("[{}] server/discover: unsupported protocol version, but 2026-07-28 is offered; retrying",
                   server_.name);
      auto again = envelope(client_capabilities, json::object());
      std::string again_method = "server/discover";
      discover = co_await request(std::move(again_method), std::move(again), probe_deadline, probe_timeout, nullptr,
                                  nullptr);
    }
    if (discover.ok() && offers_modern(discover.result)) {
      modern_ = true;
      modern_capabilities_ = std::move(client_capabilities);
      read_discover_result(discover.result);
      state_ = upstream_state::ready;
      spdlog::info("[{}] ready: {} {} (protocol {}, stateless)", server_.name,
                   protocol::log_safe(protocol::string_or(info_.server_info, "name", "?"), 100),
                   protocol::log_safe(protocol::string_or(info_.server_info, "version", "?"), 100),
                   info_.protocol_version);
      if (auto filter = listen_filter(info_.capabilities); !filter.empty()) {
        asio::co_spawn(executor_, listen_loop(shared_from_this(), std::move(filter)),
                       io::log_failure("upstream subscriptions/listen"));
      }
      co_return true;
    }
    if (must) {
      const auto why = discover.ok() ? std::string("supportedVersions lacks it")
                                     : protocol::log_safe(discover.error->message, 200);
      auto problem = "protocol: modern, but server/discover did not offer 2026-07-28 (" + why + ")";
      co_return co_await fail(std::move(problem));
    }
    spdlog::info("[{}] server/discover did not offer 2026-07-28; using initialize", server_.name);
    co_return std::nullopt;
  }

  asio::awaitable<protocol::rpc_reply> call(std::string method, json params,
                                            protocol::call_options options) override {
    if (state_ != upstream_state::ready) {
      co_return protocol::rpc_reply::failure(
          error_code::connection_closed,
          "upstream '" + server_.name + "' is not available (" + std::string(to_string(state_)) +
              (problem_.empty() ? "" : ": " + problem_) + ")");
    }
    if (requests_.in_flight() >= max_in_flight_) {
      spdlog::warn("[{}] {} requests in flight; {} refused", server_.name, requests_.in_flight(),
                   method);
      co_return protocol::rpc_reply::failure(
          error_code::limit_exceeded,
          "upstream '" + server_.name + "' has " + std::to_string(max_in_flight_) +
              " requests in flight (limits.upstream_max_in_flight); try again shortly");
    }
    const auto timeout = options.timeout.count() > 0 ? options.timeout : server_.timeout;
    const auto fault = std::exchange(armed_, wire_fault::none);
    // The tag behind a pointer: GCC 12 mis-destroys a second string parameter of request().
    std::shared_ptr<const call_tag> tag;
    if (options.tag) tag = std::make_shared<const call_tag>(call_tag{*options.tag, method});
    if (!modern_) {
      co_return co_await request(std::move(method), std::move(params), clock::now() + timeout,
                                 timeout, std::move(options.control), std::move(tag), fault);
    }
    co_return co_await call_modern(std::move(method), std::move(params), std::move(options), timeout,
                                   std::move(tag), fault);
  }

  // A 2026-07-28 upstream: every request carries the envelope (with the capabilities of the
  // host the call is for, when there is one); a liveness ping is a server/discover (ping is
  // not a method of that revision).
  asio::awaitable<protocol::rpc_reply> call_modern(std::string method, json params, protocol::call_options options,
                                                   milliseconds timeout, std::shared_ptr<const call_tag> tag,
                                                   wire_fault fault) {
    const bool ping = method == "ping";
    if (ping) method = "server/discover";
    const auto capabilities =
        options.input != nullptr ? hosts_capabilities(options.input->capabilities()) : modern_capabilities_;
    const auto called = method;
    auto original = params;  // each round of a multi-round request sends them again
    auto sent = envelope(capabilities, std::move(params));
    auto reply = co_await request(std::move(method), std::move(sent), clock::now() + timeout, timeout,
                                  options.control, tag, fault);
    // A multi-round-trip request: the host answers the upstream's input requests, and
    // manifold retries with its answers (a new id each round), until a complete result.
    for (std::size_t round = 1; reply.ok() && protocol::string_or(reply.result, "resultType") == "input_required";
         ++round) {
      auto next = co_await gather_input(called, original, reply.result, round, options);
      if (!next.retry) co_return std::move(next.reply);
      auto again = called;
      auto resent = envelope(capabilities, std::move(*next.retry));
      reply = co_await request(std::move(again), std::move(resent), clock::now() + timeout, timeout,
                               options.control, tag, wire_fault::none);
    }
    if (reply.ok() && ping) reply.result = json::object();
    if (reply.ok()) strip_modern_fields(reply.result);
    co_return reply;
  }

  // ---- MCP 2026-07-28 list changes: subscriptions/listen ----

  // What to listen for: the list changes the upstream's capabilities say it announces.
  static json listen_filter(const json& capabilities) {
    json filter = json::object();
    const auto announces = [&capabilities](const char* kind) {
      const auto* entry = protocol::object_member(capabilities, kind);
      return entry != nullptr && protocol::bool_member(*entry, "listChanged").value_or(false);
    };
    if (announces("tools")) filter["toolsListChanged"] = true;
    if (announces("prompts")) filter["promptsListChanged"] = true;
    if (announces("resources")) filter["resourcesListChanged"] = true;
    return filter;
  }

  // A 2026-07-28 server sends nothing unsolicited: its list changes arrive on a
  // subscriptions/listen request that stays open. While the upstream is ready, the listen is
  // opened again whenever it ends (after a pause that grows while it keeps ending quickly),
  // and the lists are fetched again once it is acknowledged (changes may have been missed).
  static asio::awaitable<void> listen_loop(std::shared_ptr<client_session> self, json filter) {
    auto pause = milliseconds(1000);
    for (std::uint64_t round = 0; self->modern_ && self->state_ == upstream_state::ready; ++round) {
      auto params = envelope(self->modern_capabilities_, json{{"notifications", filter}});
      std::string method = "subscriptions/listen";
      const auto started = clock::now();
      self->relisten_ = round > 0;
      self->listening_ = true;
      auto reply = co_await self->request(std::move(method), std::move(params), started + listen_span, listen_span,
                                          nullptr, nullptr);
      self->listening_ = false;
      if (self->state_ != upstream_state::ready) co_return;
      if (!reply.ok() && reply.error->code == error_code::method_not_found) {
        spdlog::info("[{}] has no subscriptions/listen: its list changes are seen at the next restart or reload",
                     self->server_.name);
        co_return;
      }
      spdlog::debug("[{}] subscriptions/listen ended ({}); listening again", self->server_.name,
                    reply.ok() ? std::string("by the server") : protocol::log_safe(reply.error->message, 200));
      pause = clock::now() - started > std::chrono::minutes(1) ? milliseconds(1000)
                                                                 : std::min(pause * 2, milliseconds(30000));
      asio::steady_timer wait(self->executor_, pause);
      co_await wait.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  // Notifications of the 2026-07-28 listen: the acknowledgement stays here (after a listen
  // opened again, it stands for "every list may have changed"); the rest lose the
  // subscription id, which names manifold's own request.
  bool listen_notification(protocol::message& msg) {
    auto* params = protocol::member(msg.body, "params");
    auto* meta = params != nullptr ? protocol::member(*params, "_meta") : nullptr;
    if (meta != nullptr && meta->is_object()) meta->erase(std::string(protocol::modern::subscription_id_key));
    if (msg.method() != "notifications/subscriptions/acknowledged") return false;
    if (std::exchange(relisten_, false) && on_notification_) {
      for (const auto* changed : {"notifications/tools/list_changed", "notifications/prompts/list_changed",
                                  "notifications/resources/list_changed"}) {
        on_notification_(protocol::message{protocol::message_kind::notification,
                                           protocol::make_notification(changed, nullptr)});
      }
    }
    return true;
  }

  static constexpr std::chrono::hours listen_span{1};  // one listen request's deadline

  // ---- MCP 2026-07-28 multi-round-trip requests, answered by the host ----

  static constexpr std::size_t max_input_rounds = protocol::modern::max_input_rounds;
  static constexpr std::size_t max_input_requests = protocol::modern::max_input_requests;
  static constexpr std::chrono::minutes input_wait{10};  // for the host's answers in one round

  struct input_round {
    std::optional<json> retry;  // the next round's params; unset: `reply` ends the call
    protocol::rpc_reply reply;
  };

  struct input_leg {
    std::string key;
    std::string method;
    json params;
    std::shared_ptr<protocol::call_control> control = std::make_shared<protocol::call_control>();
    protocol::rpc_reply answer;
  };

  // The end of a call whose input the host cannot give: a tool's error result (the model
  // reads it), a JSON-RPC error for prompts and resources.
  static input_round cannot_ask(const std::string& called, const std::string& why) {
    input_round out;
    if (called == "tools/call") {
      out.reply.result = {{"content", json::array({{{"type", "text"}, {"text", why}}})}, {"isError", true}};
    } else {
      out.reply = protocol::rpc_reply::failure(error_code::internal_error, why);
    }
    return out;
  }

  // One round: every input request of `result` asked of the host at once, then the params of
  // the retry (the original ones, the answers, and the upstream's requestState byte for byte).
  asio::awaitable<input_round> gather_input(const std::string& called, const json& original, const json& result,
                                            std::size_t round, protocol::call_options& options) {
    if (round > max_input_rounds) {
      co_return cannot_ask(called, "upstream '" + server_.name + "' asked for input more than " +
                                       std::to_string(max_input_rounds) + " times in one request");
    }
    const auto* requests = protocol::object_member(result, "inputRequests");
    const auto state = protocol::string_member(result, "requestState");
    if ((requests == nullptr || requests->empty()) && !state) {
      co_return cannot_ask(called, "upstream '" + server_.name +
                                       "' answered input_required with neither inputRequests nor requestState");
    }
    auto legs = std::make_shared<std::vector<input_leg>>();
    if (requests != nullptr) {
      if (requests->size() > max_input_requests) {
        co_return cannot_ask(called, "upstream '" + server_.name + "' asked for " +
                                         std::to_string(requests->size()) + " inputs at once (at most " +
                                         std::to_string(max_input_requests) + ")");
      }
      for (const auto& [key, value] : requests->items()) {
        input_leg leg;
        leg.key = key;
        leg.method = std::string(protocol::string_or(value, "method"));
        if (leg.method != "sampling/createMessage" && leg.method != "elicitation/create" && leg.method != "roots/list") {
          co_return cannot_ask(called, "upstream '" + server_.name + "' asked for input by an unknown method '" +
                                           protocol::log_safe(leg.method, 60) + "'");
        }
        const auto* params = protocol::object_member(value, "params");
        leg.params = params != nullptr ? *params : json::object();
        if (leg.method == "elicitation/create" && protocol::string_or(leg.params, "mode") == "url" &&
            !leg.params.contains("elicitationId")) {
          leg.params["elicitationId"] = protocol::hex(protocol::random_bytes(16));  // 2025-11-25 hosts need one
        }
        legs->push_back(std::move(leg));
      }
    }
    if (options.input == nullptr && !legs->empty()) {
      co_return cannot_ask(called, "Cannot request input '" + legs->front().key + "' (" + legs->front().method +
                                       "): no host can be asked for this call");
    }
    if (legs->empty()) {
      // Only a requestState (the upstream is busy or waiting): retry after a pause.
      asio::steady_timer pause(executor_, std::chrono::milliseconds(250));
      co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    } else if (!co_await ask_all(legs, *options.input, options.control)) {
      input_round out;
      out.reply = protocol::rpc_reply::failure(error_code::request_timeout, called + " was cancelled");
      out.reply.cancelled = options.control && options.control->cancelled;
      if (!out.reply.cancelled) {
        out.reply.error->message = "the host did not answer upstream '" + server_.name + "''s input requests in time";
      }
      co_return out;
    }
    json responses = json::object();
    for (auto& leg : *legs) {
      if (leg.answer.ok()) {
        if (leg.answer.result.is_object()) leg.answer.result.erase("_meta");
        responses[leg.key] = std::move(leg.answer.result);
      } else if (leg.method == "elicitation/create") {
        responses[leg.key] = {{"action", "cancel"}};  // a host that cannot elicit cancels
      } else {
        co_return cannot_ask(called, "Cannot request input '" + leg.key + "' (" + leg.method +
                                         "): " + leg.answer.error->message);
      }
    }
    input_round out;
    out.retry = original.is_object() ? original : json::object();
    out.retry->erase("inputResponses");
    out.retry->erase("requestState");
    if (!legs->empty()) (*out.retry)["inputResponses"] = std::move(responses);
    if (state) (*out.retry)["requestState"] = std::string(*state);
    co_return out;
  }

  // Asks the host every leg concurrently (so that a host which batches questions sees them
  // together); true when all were answered, false when the caller cancelled or time ran out.
  asio::awaitable<bool> ask_all(std::shared_ptr<std::vector<input_leg>> legs, protocol::input_source& input,
                                std::shared_ptr<protocol::call_control> control) {
    auto done = std::make_shared<io::event>();
    auto remaining = std::make_shared<std::size_t>(legs->size());
    if (control) {
      control->cancel = [legs, done](const std::string& reason) {
        for (auto& leg : *legs) {
          if (leg.control->cancel) leg.control->cancel(reason);
        }
        done->set();
      };
    }
    for (std::size_t i = 0; i < legs->size(); ++i) {
      // Asked here, not in the spawned coroutine: `input` lives only as long as this call.
      auto& leg = (*legs)[i];
      auto asked = input.ask(leg.method, leg.params, leg.key, leg.control);
      asio::co_spawn(executor_, std::move(asked),
                     [legs, i, remaining, done](const std::exception_ptr& failed, protocol::rpc_reply answer) {
                       (*legs)[i].answer = failed ? protocol::rpc_reply::failure(error_code::internal_error,
                                                                                 "Internal error in manifold")
                                                  : std::move(answer);
                       if (--*remaining == 0) done->set();
                     });
    }
    const bool answered = co_await done->wait_until(clock::now() + input_wait);
    if (control) control->cancel = nullptr;
    co_return answered && *remaining == 0 && !(control && control->cancelled);
  }

  // What a 2026-07-28 upstream hears of a handshake-era host's capabilities: what it can ask
  // for (sampling, elicitation, roots) and the extensions; roots' listChanged and tasks mean
  // nothing there.
  static json hosts_capabilities(const json& host) {
    json out = json::object();
    for (const auto* name : {"sampling", "elicitation", "extensions", "experimental"}) {
      if (const auto* value = protocol::object_member(host, name)) out[name] = *value;
    }
    if (protocol::member(host, "roots") != nullptr) out["roots"] = json::object();
    return out;
  }

  // A 2026-07-28 result relayed as a plain result: the fields of that revision go (manifold
  // stamps its own for hosts of that era).
  static void strip_modern_fields(json& result) {
    if (!result.is_object()) return;
    result.erase("resultType");
    result.erase("ttlMs");
    result.erase("cacheScope");
    if (auto* meta = protocol::member(result, "_meta"); meta != nullptr && meta->is_object()) {
      meta->erase(std::string(protocol::modern::server_info_key));
      if (meta->empty()) result.erase("_meta");
    }
  }

  // `params` with the 2026-07-28 envelope in its `_meta` (other `_meta` keys kept).
  static json envelope(const json& capabilities, json params) {
    if (!params.is_object()) params = json::object();
    auto& meta = params["_meta"];
    if (!meta.is_object()) meta = json::object();
    meta[std::string(protocol::modern::protocol_version_key)] = protocol::modern::version;
    meta[std::string(protocol::modern::client_capabilities_key)] =
        capabilities.is_object() ? capabilities : json::object();
    meta[std::string(protocol::modern::client_info_key)] = {{"name", "manifold"}, {"version", manifold::version}};
    return params;
  }

  static bool offers_modern(const json& result) {
    const auto* versions = protocol::array_member(result, "supportedVersions");
    if (versions == nullptr) return false;
    for (const auto& v : *versions) {
      if (v.is_string() && v == protocol::modern::version) return true;
    }
    return false;
  }

  void read_discover_result(const json& result) {
    info_.protocol_version = std::string(protocol::modern::version);
    if (const auto* caps = protocol::object_member(result, "capabilities")) info_.capabilities = *caps;
    if (const auto* meta = protocol::object_member(result, "_meta")) {
      info_.meta = *meta;
      if (const auto* si = protocol::object_member(*meta, protocol::modern::server_info_key)) info_.server_info = *si;
    }
    if (const auto ins = protocol::string_member(result, "instructions")) info_.instructions = std::string(*ins);
  }

  void notify(std::string method, json params) override {
    // 2026-07-28 defines no client notification but cancellation (roots and initialized are gone).
    if (modern_ && method != "notifications/cancelled") return;
    write(protocol::make_notification(method, std::move(params)));
  }

  asio::awaitable<list_outcome> list_all(std::string method, std::string key) override {
    list_outcome out;
    json cursor;
    for (std::size_t page = 0; page < max_pages; ++page) {
      json params = json::object();
      if (!cursor.is_null()) params["cursor"] = cursor;
      protocol::call_options options;  // (a local: GCC 12 mis-destroys a `{}` inside co_await)
      auto reply = co_await call(method, std::move(params), std::move(options));
      if (!reply.ok()) {
        out.error = std::move(reply.error);
        co_return out;
      }
      const auto items = reply.result.find(key);
      if (!reply.result.is_object() || items == reply.result.end() || !items->is_array()) {
        out.error = protocol::rpc_error{error_code::internal_error,
                                        method + " result has no `" + key + "` array",
                                        std::nullopt};
        co_return out;
      }
      for (auto& item : *items) out.items.push_back(std::move(item));
      const auto next = reply.result.find("nextCursor");
      if (next == reply.result.end() || next->is_null()) co_return out;
      if (!next->is_string() || *next == cursor) {
        out.error = protocol::rpc_error{error_code::internal_error,
                                        method + " returned an invalid or repeating nextCursor",
                                        std::nullopt};
        co_return out;
      }
      cursor = *next;
    }
    out.error = protocol::rpc_error{error_code::internal_error,
                                    method + " did not end after " + std::to_string(max_pages) +
                                        " pages",
                                    std::nullopt};
    co_return out;
  }

  asio::awaitable<void> drain() override {
    // Bounded: the longest a request can take is the configured timeout.
    const auto deadline = clock::now() + server_.timeout;
    while (requests_.in_flight() > (listening_ ? 1U : 0U) && clock::now() < deadline) {
      asio::steady_timer tick(executor_, milliseconds(20));
      co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  asio::awaitable<void> stop(milliseconds budget) override {
    if (state_ == upstream_state::closed) co_return;
    if (state_ != upstream_state::failed) state_ = upstream_state::closed;
    requests_.fail_all(protocol::rpc_reply::failure(
        error_code::connection_closed, "upstream '" + server_.name + "' is shutting down"));
    co_await link_->close(budget);
  }

 private:
  // Writes one message to the upstream, telling the traffic watcher.
  void write(const json& message, const call_tag* tag = nullptr) {
    if (!channel_) return;
    auto text = protocol::serialize(message);
    if (on_traffic_) on_traffic_(true, message, text.size(), tag != nullptr ? tag->tag : std::string_view(), {});
    channel_->send(std::move(text));
  }

  asio::awaitable<protocol::rpc_reply> request(std::string method, json params,
                                               clock::time_point deadline, milliseconds timeout,
                                               std::shared_ptr<protocol::call_control> control,
                                               std::shared_ptr<const call_tag> tag,
                                               wire_fault fault = wire_fault::none) {
    // A tagged request's id, so that its reply carries the tag too (only while it runs).
    std::shared_ptr<std::int64_t> tagged_id;
    if (tag) tagged_id = std::make_shared<std::int64_t>(0);
    // The id this request went out with, when a drill's fault waits for its reply.
    auto faulty_id = std::make_shared<std::string>();
    // (the function is built outside co_await: GCC 12 mis-compiles temporaries inside it)
    io::request_tracker::send_fn send = [weak = weak_from_this(), tag, tagged_id, fault, faulty_id](json message) {
      auto self = weak.lock();
      if (!self || !self->channel_) return;
      if (tagged_id && *tagged_id == 0) {
        const auto* id_member = protocol::member(message, "id");
        if (const auto id = id_member != nullptr ? protocol::integer_value(*id_member) : std::nullopt) {
          *tagged_id = *id;
          self->tags_[*id] = *tag;
        }
      }
      if (fault != wire_fault::none) {
        if (const auto* id = protocol::member(message, "id")) {
          *faulty_id = id->dump();
          self->faulty_[*faulty_id] = fault;
        }
      }
      self->write(message, tag.get());
    };
    auto done = co_await requests_.exchange(method, std::move(params), deadline,
                                            std::move(control), std::move(send));
    if (tagged_id) tags_.erase(*tagged_id);
    if (!faulty_id->empty()) faulty_.erase(*faulty_id);
    switch (done.how) {
      case io::request_tracker::outcome::replied:
        co_return std::move(done.reply);
      case io::request_tracker::outcome::cancelled: {
        auto out = protocol::rpc_reply::failure(error_code::request_timeout,
                                                method + " was cancelled");
        out.cancelled = true;
        co_return out;
      }
      case io::request_tracker::outcome::timed_out:
        break;
    }
    spdlog::warn("[{}] {} timed out", server_.name, method);
    co_return protocol::rpc_reply::failure(
        error_code::request_timeout,
        "upstream '" + server_.name + "' did not answer " + method + " within " +
            describe_ms(timeout));
  }

  std::string read_initialize_result(const json& result) {
    if (!result.is_object()) return "initialize result is not an object";
    const auto version = result.find("protocolVersion");
    if (version == result.end() || !version->is_string()) {
      return "initialize result has no protocolVersion";
    }
    if (!protocol::is_supported_version(version->get_ref<const std::string&>())) {
      return "answered with protocol version " + protocol::log_safe(version->get_ref<const std::string&>(), 40) +
             ", which manifold does not speak";
    }
    info_.protocol_version = version->get<std::string>();
    if (const auto caps = result.find("capabilities"); caps != result.end() && caps->is_object()) {
      info_.capabilities = *caps;
    }
    if (const auto si = result.find("serverInfo"); si != result.end() && si->is_object()) {
      info_.server_info = *si;
    }
    if (const auto meta = result.find("_meta"); meta != result.end() && meta->is_object()) {
      info_.meta = *meta;
    }
    if (const auto ins = result.find("instructions"); ins != result.end() && ins->is_string()) {
      info_.instructions = ins->get<std::string>();
    }
    return {};
  }

  asio::awaitable<bool> fail(std::string why) {
    problem_ = std::move(why);
    spdlog::error("[{}] {}; leaving it out", server_.name, problem_);
    state_ = upstream_state::failed;
    requests_.fail_all(protocol::rpc_reply::failure(
        error_code::connection_closed, "upstream '" + server_.name + "' failed: " + problem_));
    co_await link_->close(milliseconds(1500));
    co_return false;
  }

  // The only reader of the upstream's output: replies, notifications, and requests. One bad
  // message never ends it: each is handled on its own.
  static asio::awaitable<void> read_loop(std::shared_ptr<client_session> self) {
    while (auto frame = co_await self->channel_->receive()) {
      if (self->stalled_until_ > clock::now()) {  // a drill's stalled stream: hold the message
        asio::steady_timer stalled(self->executor_, self->stalled_until_);
        co_await stalled.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      try {
        self->on_frame(*frame);
      } catch (const std::exception& e) {
        spdlog::error("[{}] message not handled: {}", self->server_.name, e.what());
      }
    }
    const auto reason = self->link_->end_reason();
    bool ended = false;
    if (self->state_ != upstream_state::failed && self->state_ != upstream_state::closed) {
      self->problem_ = "closed its output" + (reason.empty() ? "" : " (" + reason + ")");
      spdlog::error("[{}] {}", self->server_.name, self->problem_);
      self->state_ = upstream_state::closed;
      ended = true;
    }
    self->requests_.fail_all(protocol::rpc_reply::failure(
        error_code::connection_closed,
        "upstream '" + self->server_.name + "' " +
            (self->problem_.empty() ? "closed" : self->problem_)));
    if (ended && self->on_ended_) self->on_ended_(self->problem_);
  }

  void on_frame(const protocol::frame& frame) {
    if (on_traffic_ && frame.oversized) on_traffic_(false, nullptr, frame.size, {}, {});
    if (frame.oversized) {
      unreadable(frame.text, frame.tail,
                 "a message of " + std::to_string(frame.size) + " bytes, over the limit of " +
                     std::to_string(max_message_bytes_) + " bytes (limits.max_message_size)");
      return;
    }
    auto parsed = protocol::parse_message(frame.text);
    if (!parsed.msg) {
      const auto* error = protocol::object_member(*parsed.error_reply, "error");
      if (on_traffic_) on_traffic_(false, nullptr, frame.text.size(), {}, {});
      unreadable(frame.text, frame.text,
                 "a message manifold cannot read (" +
                     protocol::string_or(error != nullptr ? *error : json(), "message") + ")");
      return;
    }
    if (on_traffic_) {
      const call_tag* tag = nullptr;
      const auto kind = parsed.msg->kind;
      if (!tags_.empty() && (kind == protocol::message_kind::response ||
                             kind == protocol::message_kind::error_response)) {
        const auto* id = protocol::member(parsed.msg->body, "id");
        const auto key = id != nullptr ? protocol::integer_value(*id) : std::nullopt;
        const auto it = key ? tags_.find(*key) : tags_.end();
        if (it != tags_.end()) tag = &it->second;
      }
      on_traffic_(false, parsed.msg->body, frame.text.size(), tag != nullptr ? tag->tag : std::string_view(),
                  tag != nullptr ? tag->method : std::string_view());
    }
    dispatch(std::move(*parsed.msg));
  }

  // The upstream sent something manifold cannot relay. If it answers one of manifold's
  // requests, that request fails now saying why (never a timeout later); if it is a request,
  // the upstream hears why; otherwise it is dropped. Always logged.
  void unreadable(std::string_view head, std::string_view tail, const std::string& what) {
    const auto envelope = protocol::peek_envelope(head, tail);
    const bool reply = envelope.kind == protocol::message_kind::response ||
                       envelope.kind == protocol::message_kind::error_response;
    spdlog::warn("[{}] sent {}; {}: {}", server_.name, what,
                 reply && envelope.id ? "its request fails" : "dropped", protocol::log_safe(head, 200));
    if (!envelope.id) return;
    if (reply) {
      requests_.deliver(*envelope.id,
                        protocol::rpc_reply::failure(error_code::limit_exceeded,
                                                     "upstream '" + server_.name + "' replied with " +
                                                         what + "; the reply cannot be relayed"));
    } else if (envelope.kind == protocol::message_kind::request) {
      write(protocol::make_error(*envelope.id,
                                 {error_code::invalid_request, "manifold cannot read " + what, std::nullopt}));
    }
  }

  // A drill's fault on the reply to one request: true when the reply was consumed.
  bool faulted_reply(const protocol::message& msg) {
    if (faulty_.empty()) return false;
    const auto* id = protocol::member(msg.body, "id");
    if (id == nullptr) return false;
    const auto it = faulty_.find(id->dump());
    if (it == faulty_.end()) return false;
    const auto fault = it->second;
    faulty_.erase(it);
    if (fault == wire_fault::drop_reply) {
      spdlog::warn("[{}] dropping the reply to id {} (an injected drop)", server_.name, protocol::log_safe(id->dump(), 100));
      return true;
    }
    // A reply torn mid-message, as a broken stream delivers it; its id is readable, so the
    // request it answers fails at once.
    const auto text = "{\"jsonrpc\":\"2.0\",\"id\":" + id->dump() + ",\"result\":{\"content\":[{\"ty";
    unreadable(text, text, "a message manifold cannot read (injected garbage)");
    return true;
  }

  void dispatch(protocol::message msg) {
    if ((msg.kind == protocol::message_kind::response || msg.kind == protocol::message_kind::error_response) &&
        faulted_reply(msg)) {
      return;
    }
    switch (msg.kind) {
      case protocol::message_kind::response:
        if (!requests_.deliver(msg.id(), {msg.body["result"], std::nullopt})) late_reply(msg);
        return;
      case protocol::message_kind::error_response:
        if (!requests_.deliver(msg.body["id"],
                               {nullptr, protocol::rpc_error::from_json(msg.body["error"])})) {
          late_reply(msg);
        }
        return;
      case protocol::message_kind::request:
        asio::co_spawn(executor_, answer_request(shared_from_this(), std::move(msg)),
                       io::log_failure("upstream request"));
        return;
      case protocol::message_kind::notification:
        if (modern_ && listen_notification(msg)) return;
        if (on_notification_) on_notification_(msg);
        return;
    }
  }

  void late_reply(const protocol::message& msg) {
    const auto* id = protocol::member(msg.body, "id");
    spdlog::debug("[{}] reply for unknown, timed-out or cancelled id {}; dropped", server_.name,
                  protocol::log_safe(id != nullptr ? id->dump() : "null", 100));
  }

  // Requests from the upstream to manifold: ping here, the rest through the handler. Every
  // request is answered (an error when the handler fails), unless the upstream cancelled it.
  static asio::awaitable<void> answer_request(std::shared_ptr<client_session> self,
                                              protocol::message msg) {
    const auto method = std::string(msg.method());
    protocol::rpc_reply reply;
    try {
      if (method == "ping") {
        reply.result = json::object();
      } else if (self->on_request_) {
        reply = co_await self->on_request_(msg);
      } else {
        reply = protocol::rpc_reply::failure(error_code::method_not_found,
                                             "Method not found: " + protocol::log_safe(method, 100));
      }
    } catch (const std::exception& e) {
      spdlog::error("[{}] {} not handled: {}", self->server_.name, protocol::log_safe(method, 100),
                    e.what());
      reply = protocol::rpc_reply::failure(error_code::internal_error, "Internal error in manifold");
    }
    if (!self->channel_ || reply.cancelled) co_return;
    self->write(reply.ok() ? protocol::make_result(msg.id(), std::move(reply.result))
                           : protocol::make_error(msg.id(), *reply.error));
  }

  asio::any_io_executor executor_;
  config::server_config server_;
  std::unique_ptr<transport> link_;
  std::size_t max_message_bytes_;
  std::size_t max_in_flight_;
  std::shared_ptr<protocol::channel> channel_;
  upstream_state state_ = upstream_state::created;
  upstream_info info_;
  std::string problem_;
  clock::time_point launch_deadline_;
  bool launch_started_ = false;
  bool modern_ = false;              // speaks MCP 2026-07-28 (stateless requests)
  bool relisten_ = false;            // the listen was opened again: lists are fetched on its ack
  bool listening_ = false;           // its subscriptions/listen is open (not a call to drain)
  json modern_capabilities_;         // the client capabilities its requests declare
  static constexpr milliseconds discover_probe{5000};  // protocol: auto waits this long
  io::event launched_;
  io::request_tracker requests_;
  notification_handler on_notification_;
  request_handler on_request_;
  traffic_handler on_traffic_;
  // Tags of tagged requests in flight, by manifold's id (see call_options::tag).
  std::unordered_map<std::int64_t, call_tag> tags_;
  std::function<void(const std::string&)> on_ended_;
  // Failure drills: the fault for the next call, the requests whose replies are to suffer
  // one (by id as JSON text; an entry leaves when its request ends), and a stalled stream.
  wire_fault armed_ = wire_fault::none;
  std::unordered_map<std::string, wire_fault> faulty_;
  clock::time_point stalled_until_{};
};

}  // namespace

std::shared_ptr<upstream> make_upstream(asio::any_io_executor executor,
                                        const config::server_config& server,
                                        std::unique_ptr<transport> link,
                                        const config::limits_config& limits) {
  return std::make_shared<client_session>(std::move(executor), server, std::move(link), limits);
}

}  // namespace manifold::upstream
