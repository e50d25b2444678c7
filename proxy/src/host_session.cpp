#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>
#include <set>

#include "manifold/io/event.hpp"
#include "manifold/io/request_tracker.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/modern.hpp"
#include "manifold/protocol/protocol_version.hpp"
#include "manifold/protocol/text.hpp"
#include "manifold/version.hpp"
#include "bridged_calls.hpp"
#include "call_observer.hpp"
#include "manifold/observe/json_log.hpp"
#include "methods.hpp"
#include "request_state.hpp"
#include "role_admission.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;
namespace error_code = protocol::error_code;
using protocol::rpc_error;
using protocol::rpc_reply;
using clock = std::chrono::steady_clock;

namespace {

enum class lifecycle { awaiting_initialize, initialized, operating };

// One host's session: its lifecycle, its requests in flight and the requests manifold sends
// it. Methods after initialize are served by the handlers of methods.hpp.
class session final : public host_session,
                      public host_endpoint,
                      public session_api,
                      public std::enable_shared_from_this<session> {
 public:
  session(asio::any_io_executor executor, std::shared_ptr<protocol::channel> link, relay_impl& hub,
          std::uint64_t id, const group_view& group, session_identity who)
      : executor_(std::move(executor)), link_(std::move(link)), hub_(hub), id_(id),
        group_(group.name), who_(std::move(who)) {
    if (!who_.who) who_.who = std::make_shared<const access::principal>(access::principal{"anonymous", {}, {}, {}, {}});
    if (!who_.roles && hub_.options().gate != nullptr) who_.roles = hub_.options().gate->view_for(*who_.who);
    view_key_ = group.name + '\x1f' + who_.roles_key();
    const auto described = link_->describe();
    label_ = described.session_id.empty() ? std::to_string(id_) : std::string(described.session_id);
    std::vector<std::shared_ptr<const ns::admission>> rules;
    if (group.filter) rules.push_back(group.filter);
    if (who_.roles && !who_.roles->unrestricted()) rules.push_back(std::make_shared<role_admission>(who_.roles));
    view_ = hub_.view_for(view_key_, std::move(rules));
  }

  // --- host_session ---
  asio::awaitable<void> run() override {
    auto self = shared_from_this();
    hub_.attach(self);
    if (resumed_) {
      hub_.session_operating();
      asio::co_spawn(executor_, restore(self), io::log_failure("session restore"));
    }
    while (auto frame = co_await link_->receive()) {
      if (stopped_) break;
      try {
        on_frame(*frame);
      } catch (const std::exception& e) {
        // Handlers read untrusted input through checked accessors; this is the last line.
        spdlog::error("host {}: message not handled: {}", id_, e.what());
      }
    }
    // The host closed its side: let in-flight requests finish (each has a deadline); its
    // listens have nobody left to tell.
    closing_ = true;
    end_subscriptions();
    // Nobody is left to retry this session's bridged calls.
    hub_.bridges().abort_session(id_, "the host session ended");
    if (!in_flight_.empty()) {
      spdlog::debug("host closed its input; waiting for {} in-flight requests", in_flight_.size());
      co_await drained_.wait_until(clock::now() + hub_.options().drain_timeout);
    }
    outbound_.fail_all(rpc_reply::failure(error_code::connection_closed, "the host went away"));
    hub_.detach(id_);
  }

  void stop() override {
    stopped_ = true;
    hub_.bridges().abort_session(id_, "the host session ended");
    for (auto& [id, control] : in_flight_) {
      if (control->cancel) control->cancel("the host session ended");
    }
    outbound_.fail_all(rpc_reply::failure(error_code::connection_closed, "the host went away"));
    link_->close();
    drained_.set();
  }

  [[nodiscard]] std::size_t pending_calls() const override { return hub_.bridges().owned_by(id_); }

  asio::awaitable<void> pending_ended() override {
    auto& calls = hub_.bridges();
    // Each call ends by its deadline at the latest (its watchdog aborts it); the margin covers
    // the cancellation that follows.
    const auto deadline = clock::now() + calls.limits().lifetime + std::chrono::minutes(1);
    while (calls.owned_by(id_) > 0 && !stopped_ && clock::now() < deadline) {
      const auto ended = calls.ended_signal();
      co_await ended->wait_until(deadline);
    }
  }

  void end_subscriptions() override {
    for (auto& [key, l] : listens_) {
      if (l.ended) l.ended->set();
    }
  }

  // --- host_endpoint and session_api ---
  [[nodiscard]] std::uint64_t id() const override { return id_; }
  [[nodiscard]] bool operating() const override {
    return (state_ != lifecycle::awaiting_initialize || !listens_.empty()) && !stopped_;
  }
  [[nodiscard]] bool accepts_requests() const override {
    return state_ != lifecycle::awaiting_initialize && !stopped_;
  }
  [[nodiscard]] const std::string& view_key() const override { return view_key_; }
  [[nodiscard]] const session_identity& identity() const override { return who_; }
  [[nodiscard]] const std::string& label() const override { return label_; }
  [[nodiscard]] const protocol::modern::received_headers* param_headers() const override { return nullptr; }
  void expect_param_headers(protocol::modern::received_headers headers) override {
    param_headers_ = std::move(headers);
  }
  [[nodiscard]] bool served_by(const instance_owner& owner) const override {
    if (owner.session != 0) return owner.session == id_;
    return owner.principal.empty() || owner.principal == who_.principal_name();
  }
  void set_view(std::shared_ptr<const ns::view> next) override { view_ = std::move(next); }
  [[nodiscard]] const json& client_capabilities() const override { return client_capabilities_; }
  [[nodiscard]] int log_threshold() const override { return log_threshold_; }
  [[nodiscard]] bool backlogged() const override {
    return link_->queued() > hub_.options().max_queued_bytes / 2;
  }
  void set_log_threshold(int severity) override {
    const auto level = std::string(log_level_name(severity));
    if (level != log_level_) ++changes_;
    log_threshold_ = severity;
    log_level_ = level;
  }
  void note_subscription(const std::string& uri, bool subscribed) override {
    const bool changed = subscribed ? subscriptions_.insert(uri).second : subscriptions_.erase(uri) != 0;
    if (changed) ++changes_;
  }

  [[nodiscard]] host_session_state state() const override {
    host_session_state out;
    out.protocol_version = state_ == lifecycle::awaiting_initialize ? std::string() : negotiated_;
    out.client_capabilities = client_capabilities_;
    out.client_info = client_info_;
    out.log_level = log_level_;
    out.subscriptions.assign(subscriptions_.begin(), subscriptions_.end());
    return out;
  }
  [[nodiscard]] std::uint64_t state_changes() const override { return changes_; }

  void resume(host_session_state state) override {
    negotiated_ = std::move(state.protocol_version);
    client_capabilities_ = state.client_capabilities.is_object() ? std::move(state.client_capabilities)
                                                                 : json::object();
    client_info_ = state.client_info.is_object() ? std::move(state.client_info) : json::object();
    log_threshold_ = log_severity(state.log_level);
    if (log_threshold_ >= 0) log_level_ = std::move(state.log_level);
    subscriptions_.insert(state.subscriptions.begin(), state.subscriptions.end());
    pending_subscriptions_ = std::move(state.subscriptions);
    state_ = lifecycle::operating;
    resumed_ = true;
    initializing_ = true;  // requests wait for this process's upstreams, as after initialize
  }

  std::optional<rpc_reply> refuse_request(std::string_view method, const json& params,
                                          const json& related) override {
    const auto it = related.is_null() ? modern_requests_.end() : modern_requests_.find(related.dump());
    if (it == modern_requests_.end()) return std::nullopt;
    // A 2026-07-28 host takes no requests from servers. When the request needs a capability
    // the host's request did not declare, the host hears -32021 (it may add it and retry)
    // and the upstream call is cancelled.
    auto needed = required_capability(method, params);
    if (!needed.is_null() && !declares(it->second.capabilities, needed)) {
      it->second.required = std::move(needed);
      if (const auto call = in_flight_.find(it->first); call != in_flight_.end() && call->second->cancel) {
        call->second->cancel("the host's request lacks a capability the server needs");
      }
    }
    return rpc_reply::failure(error_code::method_not_found,
                              "the host's request uses MCP 2026-07-28, which takes no " + std::string(method) +
                                  " requests from servers");
  }

  void notify(std::string_view method, json params, const json& related) override {
    if (auto call = hub_.bridges().find_related(related)) {
      call->notify(method, std::move(params));  // to the host request the call is attached to
      return;
    }
    if (related.is_null() && !listens_.empty()) to_listens(method, params);
    if (!related.is_null()) {
      // A 2026-07-28 request hears its progress, and log messages only at the level it asked.
      if (const auto it = modern_requests_.find(related.dump()); it != modern_requests_.end()) {
        if (method == "notifications/message" &&
            log_severity(protocol::string_or(params, "level")) < it->second.log_threshold) {
          return;
        }
        send(protocol::make_notification(method, std::move(params)), related);
        return;
      }
    }
    // Broadcasts reach handshake-era sessions only; 2026-07-28 hosts hear them on a listen.
    if (state_ == lifecycle::awaiting_initialize) return;
    send(protocol::make_notification(method, std::move(params)), related);
  }

  asio::awaitable<rpc_reply> request(std::string method, json params,
                                     std::shared_ptr<protocol::call_control> control,
                                     const json& related) override {
    if (auto refused = refuse_request(method, params, related)) co_return std::move(*refused);
    // (the function is built outside co_await: GCC 12 mis-compiles temporaries inside it)
    io::request_tracker::send_fn send = [weak = weak_from_this(), related](json message) {
      if (auto self = weak.lock()) self->send(message, related);
    };
    const auto deadline = clock::now() + hub_.options().host_request_timeout;
    auto done = co_await outbound_.exchange(method, std::move(params), deadline, std::move(control),
                                            std::move(send));
    switch (done.how) {
      case io::request_tracker::outcome::replied:
        co_return std::move(done.reply);
      case io::request_tracker::outcome::cancelled: {
        auto out = rpc_reply::failure(error_code::request_timeout, method + " was cancelled");
        out.cancelled = true;
        co_return out;
      }
      case io::request_tracker::outcome::timed_out:
        break;
    }
    co_return rpc_reply::failure(error_code::request_timeout,
                                 "the host did not answer " + method + " in time");
  }

 private:
  void on_frame(const protocol::frame& frame) {
    // JSON logs of this message's handling name the session (never across a co_await).
    const observe::log_scope scope({{}, {}, label_, {}});
    if (frame.oversized) {
      spdlog::warn("host {} sent a message of {} bytes, over the {} byte limit; rejected", id_,
                   frame.size, hub_.options().max_message_bytes);
      send(protocol::make_error(nullptr, {error_code::invalid_request,
                                          "Invalid Request: message of " + std::to_string(frame.size) +
                                              " bytes exceeds the limit of " +
                                              std::to_string(hub_.options().max_message_bytes),
                                          std::nullopt}));
      return;
    }
    spdlog::trace("host {} -> {}", id_, protocol::log_safe(frame.text));
    auto parsed = protocol::parse_message(frame.text);
    if (!parsed.msg) {
      spdlog::warn("host {} sent an invalid message: {}", id_, protocol::log_safe(frame.text, 200));
      send(*parsed.error_reply);
      return;
    }
    if (auto* t = tap(); t != nullptr) t->publish(observe::tap_direction::host_to_manifold, label_, {}, parsed.msg->body);
    on_message(std::move(*parsed.msg));
  }

  // The traffic tap, when somebody listens.
  [[nodiscard]] observe::tap* tap() const {
    const auto* t = hub_.options().telemetry;
    return t != nullptr && t->tap != nullptr && t->tap->active() ? t->tap : nullptr;
  }

  void on_message(protocol::message msg) {
    switch (msg.kind) {
      case protocol::message_kind::request:
        on_request(std::move(msg));
        return;
      case protocol::message_kind::notification:
        on_notification(msg);
        return;
      case protocol::message_kind::response:
        outbound_.deliver(msg.id(), {msg.body["result"], std::nullopt});
        return;
      case protocol::message_kind::error_response:
        outbound_.deliver(msg.body["id"], {nullptr, rpc_error::from_json(msg.body["error"])});
        return;
    }
  }

  void on_request(protocol::message msg) {
    const auto key = msg.id().dump();
    if (in_flight_.count(key) != 0) {
      send(protocol::make_error(msg.id(), {error_code::invalid_request,
                                           "Invalid Request: id " + key + " is already in use",
                                           std::nullopt}));
      return;
    }
    if (in_flight_.size() >= hub_.options().max_in_flight) {
      spdlog::warn("host {} has {} requests in flight; {} refused", id_, in_flight_.size(),
                   protocol::log_safe(msg.method(), 100));
      send(protocol::make_error(msg.id(), {error_code::limit_exceeded,
                                           "Too many requests in flight on this session (limit " +
                                               std::to_string(hub_.options().max_in_flight) +
                                               "); wait for answers before sending more",
                                           std::nullopt}));
      return;
    }
    in_flight_[key] = std::make_shared<protocol::call_control>();
    asio::co_spawn(executor_, handle_request(shared_from_this(), std::move(msg)),
                   io::log_failure("host request"));
  }

  void on_notification(const protocol::message& msg) {
    const auto method = msg.method();
    const auto params = msg.params();
    if (method == "notifications/initialized") {
      if (state_ == lifecycle::initialized) {
        state_ = lifecycle::operating;
        hub_.session_operating();
      }
    } else if (method == "notifications/cancelled") {
      const auto* request = protocol::member(params, "requestId");
      if (request == nullptr) return;
      const auto it = in_flight_.find(request->dump());
      if (it == in_flight_.end()) return;  // finished already, or never existed: ignored
      it->second->cancelled = true;
      if (it->second->cancel) {
        it->second->cancel(protocol::string_or(params, "reason", "cancelled by the host"));
      }
    } else if (method == "notifications/roots/list_changed") {
      hub_.roots_changed();
    } else if (method == "notifications/progress") {
      hub_.host_progress(params);
    } else {
      spdlog::debug("host notification {} ignored", protocol::log_safe(method, 100));
    }
  }

  static asio::awaitable<void> handle_request(std::shared_ptr<session> self, protocol::message msg) {
    const auto key = msg.id().dump();
    const auto control = self->in_flight_[key];
    const request_origin origin{self->label_, self->link_->describe(), self->negotiated_};
    call_observer observer(self->hub_.options().telemetry, msg, origin);
    answer out;
    try {
      out = co_await self->dispatch(msg, control, &observer);
    } catch (const std::exception& e) {
      const auto trace = observer.trace_id();
      const observe::log_scope scope({{}, {}, self->label_, trace});
      spdlog::error("internal error handling {}: {}", protocol::log_safe(msg.method(), 100), e.what());
      out = answer::fail({error_code::internal_error, "Internal error in manifold", std::nullopt});
    }
    const auto trace = observer.trace_id();
    const observe::log_scope scope({{}, {}, self->label_, trace});
    self->in_flight_.erase(key);
    const bool cancelled = out.silent || control->cancelled;
    if (observer.on()) {
      const auto* error = !cancelled && out.error ? &*out.error : nullptr;
      const auto* result = !cancelled && out.result ? &*out.result : nullptr;
      observer.finished(error, result, cancelled, self->who_.principal_name());
    }
    if (!cancelled) {
      self->send(out.error ? protocol::make_error(msg.id(), *out.error)
                           : protocol::make_result(msg.id(), std::move(*out.result)),
                 msg.id(), msg.method());
    } else if (!self->stopped_) {
      self->link_->end_related(msg.id());  // cancelled: no response, and its stream ends
    }
    if (self->in_flight_.empty() && self->closing_) self->drained_.set();
  }

  asio::awaitable<answer> dispatch(const protocol::message& msg,
                                   const std::shared_ptr<protocol::call_control>& control,
                                   call_observer* observer) {
    const auto method = msg.method();
    // The era is decided per message: a request with the 2026-07-28 envelope is served
    // statelessly, whatever else this connection did (a dual-era server may serve both).
    if (method == "server/discover" || protocol::modern::claims_modern(msg.params())) {
      co_return co_await serve_modern(msg, control, observer);
    }
    if (method == "ping") co_return answer::ok(json::object());
    if (method == "initialize") co_return co_await initialize(msg);
    // Requests pipelined behind initialize wait for its answer; before it, they are refused.
    if (initializing_) co_await initialized_.wait_until(hub_.upstreams().start_deadline());
    if (state_ == lifecycle::awaiting_initialize) {
      co_return answer::fail({error_code::invalid_request,
                              "Invalid Request: the session is not initialized; send initialize first",
                              std::nullopt});
    }
    const auto handler = find_method(method);
    if (handler == nullptr) {
      co_return answer::fail({error_code::method_not_found,
                              "Method not found: " + protocol::log_safe(method, 100), std::nullopt});
    }
    auto params = msg.params();
    if (!params.is_object()) co_return answer::invalid_params("params must be an object");
    request_context ctx{*this, hub_, std::string(method), msg.id(), control, view_, observer};
    co_return co_await handler(ctx, std::move(params));
  }

  // ---- MCP 2026-07-28: stateless requests ----

  // What a 2026-07-28 request's handler sees: this session, with the capabilities the
  // request itself declares (they never carry over between requests).
  class modern_caller final : public session_api {
   public:
    modern_caller(session& owner, json capabilities)
        : owner_(owner), capabilities_(std::move(capabilities)) {}
    [[nodiscard]] std::uint64_t id() const override { return owner_.id(); }
    [[nodiscard]] const json& client_capabilities() const override { return capabilities_; }
    void set_log_threshold(int) override {}
    // A stateless request has no session state to carry (nothing is sealed for it).
    void note_subscription(const std::string&, bool) override {}
    [[nodiscard]] const std::string& view_key() const override { return owner_.view_key(); }
    [[nodiscard]] const session_identity& identity() const override { return owner_.identity(); }
    [[nodiscard]] const std::string& label() const override { return owner_.label(); }
    [[nodiscard]] const protocol::modern::received_headers* param_headers() const override {
      return owner_.param_headers_ ? &*owner_.param_headers_ : nullptr;
    }

   private:
    session& owner_;
    json capabilities_;
  };

  asio::awaitable<answer> serve_modern(const protocol::message& msg,
                                       const std::shared_ptr<protocol::call_control>& control,
                                       call_observer* observer) {
    const auto method = std::string(msg.method());
    auto params = msg.params();
    if (params.is_null()) params = json::object();
    if (!params.is_object()) co_return answer::invalid_params("params must be an object");
    auto checked = protocol::modern::check_envelope(params);
    if (checked.error) co_return answer::fail(std::move(*checked.error));
    const auto& envelope = *checked.ok;
    if (!protocol::modern::is_modern_method(method)) {
      co_return answer::fail({error_code::method_not_found,
                              "Method not found: " + protocol::log_safe(method, 100) +
                                  " (not a method of MCP 2026-07-28)",
                              std::nullopt});
    }
    auto& upstreams = hub_.upstreams();
    if (!co_await upstreams.ensure_started(envelope.client_capabilities, upstreams.start_deadline())) {
      spdlog::warn("upstreams still starting when a 2026-07-28 request was served");
    }
    if (method == "server/discover") co_return answer::ok(stamp(method, discover_result()));
    const auto key = msg.id().dump();
    modern_requests_[key] = {envelope.log_level ? std::max(0, log_severity(*envelope.log_level)) : 8,
                             envelope.client_capabilities, nullptr};
    modern_caller caller(*this, envelope.client_capabilities);
    protocol::modern::strip_envelope(params);
    const auto uri = protocol::string_or(params, "uri");
    answer out;
    if (method == "subscriptions/listen") {
      out = co_await listen(caller, msg.id(), std::move(params), control);
    } else if (bridged(method)) {
      const auto threshold = modern_requests_[key].log_threshold;
      out = co_await serve_bridged(msg.id(), method, std::move(params), envelope.client_capabilities, threshold,
                                   control);
    } else {
      request_context ctx{caller, hub_, method, msg.id(), control, view_, observer};
      out = co_await find_method(method)(ctx, std::move(params));
    }
    if (auto required = std::move(modern_requests_[key].required); !required.is_null()) {
      const auto what = required.begin().key();
      out = answer::fail({error_code::missing_client_capability,
                          "the server needs the client capability `" + what +
                              "`, which this request does not declare",
                          json{{"requiredCapabilities", std::move(required)}}});
    }
    modern_requests_.erase(key);
    if (out.result) out.result = stamp(method, std::move(*out.result));
    if (out.error && (out.error->code == error_code::resource_not_found ||
                      (method == "resources/read" && out.error->code == error_code::invalid_params))) {
      // 2026-07-28 reports a missing resource as invalid params naming the URI (a handshake-era
      // upstream says -32002, or -32602 without the URI).
      out.error->code = error_code::invalid_params;
      if (!out.error->data || !out.error->data->is_object()) out.error->data = json::object();
      (*out.error->data)["uri"] = uri;
    }
    co_return out;
  }

  // ---- multi-round-trip bridging (bridged_call.hpp) ----

  // The methods whose answer may be an InputRequiredResult.
  static bool bridged(std::string_view method) {
    return method == "tools/call" || method == "prompts/get" || method == "resources/read";
  }

  // Who a requestState is sealed for: the caller's principal on this endpoint (group).
  [[nodiscard]] std::string subject() const { return who_.principal_name() + '\x1f' + group_; }

  static answer invalid_state() {
    return answer::fail({error_code::invalid_params, "Invalid or expired requestState",
                         json{{"reason", "invalid_request_state"}}});
  }

  // A tools/call, prompts/get or resources/read of a 2026-07-28 host: a fresh call runs as a
  // bridged call (its upstream's input requests become InputRequiredResults); a retry with a
  // requestState continues the call it names, after checking that the state is genuine, live,
  // the caller's, for this very request, and of the call's current round.
  asio::awaitable<answer> serve_bridged(const json& id, const std::string& method, json params,
                                        const json& capabilities, int log_threshold,
                                        const std::shared_ptr<protocol::call_control>& control) {
    auto& calls = hub_.bridges();
    json responses;
    if (auto* given = protocol::member(params, "inputResponses")) responses = std::move(*given);
    json state;
    if (auto* given = protocol::member(params, "requestState")) state = std::move(*given);
    params.erase("inputResponses");  // without a state: a fresh call, whatever it carries
    params.erase("requestState");
    const auto digest = request_digest(method, params);
    bridge_attachment host;
    host.capabilities = capabilities;
    host.log_threshold = log_threshold;
    if (const auto* meta = protocol::object_member(params, "_meta")) {
      if (const auto* token = protocol::member(*meta, "progressToken")) host.progress_token = *token;
    }
    host.send = [weak = weak_from_this(), id](std::string_view m, json p) {
      if (auto self = weak.lock()) self->send(protocol::make_notification(m, std::move(p)), id);
    };
    std::function<bool()> may_wait = [&calls] { return calls.may_wait(); };
    if (state.is_null()) {
      request_state sealed;
      sealed.subject = subject();
      sealed.method = method;
      sealed.digest = digest;
      auto call = calls.start(id_, who_.principal_name(), std::move(sealed));
      asio::co_spawn(executor_, drive(shared_from_this(), call, method, std::move(params), capabilities),
                     io::log_failure("bridged call"));
      co_return co_await call->serve(std::move(host), control, calls.codec(), std::move(may_wait));
    }
    if (!state.is_string()) co_return invalid_state();
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch()).count();
    const auto opened = calls.codec().open(state.get_ref<const std::string&>(), subject(), method, digest, now);
    if (!opened.state) {
      spdlog::info("host {}: requestState refused: {}", id_, to_string(opened.why));
      co_return invalid_state();
    }
    auto call = calls.find(opened.state->call);
    if (!call || call->ended() || call->round() != opened.state->round || !call->awaiting_retry()) {
      spdlog::info("host {}: requestState refused: its call has ended, moved on, or is being retried", id_);
      co_return invalid_state();
    }
    call->deliver(responses);
    co_return co_await call->serve(std::move(host), control, calls.codec(), std::move(may_wait));
  }

  // Runs a bridged call's upstream request (the method's handler, under the call's own id and
  // cancel handle) and hands its answer to the call. The session stays alive meanwhile.
  static asio::awaitable<void> drive(std::shared_ptr<session> self, std::shared_ptr<bridged_call> call,
                                     std::string method, json params, json capabilities) {
    modern_caller caller(*self, std::move(capabilities));
    request_context ctx{caller, self->hub_, method, call->related(), call->upstream_control(), self->view_, nullptr};
    answer out;
    try {
      out = co_await find_method(method)(ctx, std::move(params));
    } catch (const std::exception& e) {
      spdlog::error("internal error handling bridged {}: {}", protocol::log_safe(method, 100), e.what());
      out = answer::fail({error_code::internal_error, "Internal error in manifold", std::nullopt});
    }
    call->finish(std::move(out));
  }

  json discover_result() const {
    const auto& upstreams = hub_.upstreams();
    auto capabilities = upstreams.server_capabilities();
    capabilities.erase("tasks");  // a 2026-07-28 extension, not relayed on this path
    if (auto* resources = protocol::member(capabilities, "resources"); resources != nullptr) {
      (*resources)["subscribe"] = true;  // honoured on subscriptions/listen for upstreams that can
    }
    json result{{"supportedVersions", protocol::modern::supported_versions()},
                {"capabilities", std::move(capabilities)}};
    if (auto instructions = upstreams.instructions(); !instructions.empty()) {
      result["instructions"] = std::move(instructions);
    }
    return result;
  }

  // Every 2026-07-28 result says what it is and who answered; cacheable ones say for how long
  // and for whom. manifold's catalog can change at any time (an upstream's list change, a
  // reload), so it never lets a host cache: ttlMs 0. The scope is private whenever what the
  // caller sees depends on who it is (roles, a group endpoint, an authenticated principal).
  json stamp(std::string_view method, json result) const {
    if (!result.is_object()) result = json::object();
    if (!result.contains("resultType")) result["resultType"] = "complete";
    if (!result.contains("_meta") || !result["_meta"].is_object()) result["_meta"] = json::object();
    result["_meta"][std::string(protocol::modern::server_info_key)] = {{"name", "manifold"},
                                                                      {"version", manifold::version}};
    static constexpr std::array<std::string_view, 6> cacheable{
        "server/discover", "tools/list", "prompts/list", "resources/list", "resources/templates/list",
        "resources/read"};
    if (std::find(cacheable.begin(), cacheable.end(), method) != cacheable.end()) {
      result["ttlMs"] = 0;
      const bool personal = !group_.empty() || who_.roles != nullptr || who_.principal_name() != "anonymous";
      result["cacheScope"] = personal ? "private" : "public";
    }
    return result;
  }

  // ---- subscriptions/listen ----

  struct listen_record {
    json id;  // the listen request's id: every notification on it carries it, same JSON type
    bool tools = false;
    bool prompts = false;
    bool resources = false;
    std::set<std::string> uris;  // exposed URIs
    std::shared_ptr<io::event> ended;  // set to end it
  };

  asio::awaitable<answer> listen(modern_caller& caller, const json& id, json params,
                                 const std::shared_ptr<protocol::call_control>& control) {
    const auto* wanted = protocol::object_member(params, "notifications");
    if (wanted == nullptr) co_return answer::invalid_params("subscriptions/listen needs a `notifications` object");
    if (listens_.size() >= max_listens) {
      co_return answer::fail({error_code::internal_error, "Subscription limit reached", std::nullopt});
    }
    const auto capabilities = hub_.upstreams().server_capabilities();
    const auto wants = [&](const char* key) { return protocol::bool_member(*wanted, key).value_or(false); };
    listen_record record;
    record.id = id;
    json honoured = json::object();
    if (wants("toolsListChanged")) honoured["toolsListChanged"] = record.tools = true;
    if (wants("promptsListChanged") && capabilities.contains("prompts")) {
      honoured["promptsListChanged"] = record.prompts = true;
    }
    if (wants("resourcesListChanged") && capabilities.contains("resources")) {
      honoured["resourcesListChanged"] = record.resources = true;
    }
    if (const auto* uris = protocol::array_member(*wanted, "resourceSubscriptions")) {
      json accepted = json::array();
      for (const auto& uri : *uris) {
        if (!uri.is_string() || accepted.size() >= max_listen_uris) continue;
        request_context ctx{caller, hub_, "resources/subscribe", id, control, view_};
        json one = json::object();
        one["uri"] = uri;
        const auto done = co_await subscribe(ctx, std::move(one));
        if (done.result) {
          accepted.push_back(uri);
          record.uris.insert(uri.get_ref<const std::string&>());
        }
      }
      if (!accepted.empty()) honoured["resourceSubscriptions"] = std::move(accepted);
    }
    const auto key = id.dump();
    auto ended = std::make_shared<io::event>();
    control->cancel = [ended](const std::string&) { ended->set(); };
    record.ended = ended;
    listens_[key] = record;
    // The acknowledgement is the first message of the subscription.
    send(protocol::make_notification(
             "notifications/subscriptions/acknowledged",
             {{"notifications", honoured},
              {"_meta", {{std::string(protocol::modern::subscription_id_key), id}}}}),
         id);
    // Open until the host cancels it or the session ends (both set `ended`).
    const auto forever = clock::time_point::max();
    if (!control->cancelled && !stopped_) co_await ended->wait_until(forever);
    listens_.erase(key);
    for (const auto& uri : record.uris) {
      request_context ctx{caller, hub_, "resources/unsubscribe", id, nullptr, view_};
      json one = json::object();
      one["uri"] = uri;
      co_await unsubscribe(ctx, std::move(one));
    }
    if (control->cancelled) co_return answer{std::nullopt, std::nullopt, true};
    // Ended by manifold: a graceful result tells the host the subscription is over.
    co_return answer::ok({{"_meta", {{std::string(protocol::modern::subscription_id_key), id}}}});
  }

  void to_listens(std::string_view method, const json& params) {
    for (const auto& [key, l] : listens_) {
      bool admitted = false;
      if (method == "notifications/tools/list_changed") admitted = l.tools;
      else if (method == "notifications/prompts/list_changed") admitted = l.prompts;
      else if (method == "notifications/resources/list_changed") admitted = l.resources;
      else if (method == "notifications/resources/updated") {
        const auto uri = protocol::string_or(params, "uri");
        for (const auto& u : l.uris) {
          // A sub-resource of a subscribed URI counts.
          if (uri == u || (uri.size() > u.size() && uri.compare(0, u.size(), u) == 0 &&
                           (u.back() == '/' || uri[u.size()] == '/'))) {
            admitted = true;
            break;
          }
        }
      }
      if (!admitted) continue;
      json tagged = params.is_object() ? params : json::object();
      tagged["_meta"][std::string(protocol::modern::subscription_id_key)] = l.id;
      send(protocol::make_notification(method, std::move(tagged)), l.id);
    }
  }

  static constexpr std::size_t max_listens = 64;
  static constexpr std::size_t max_listen_uris = 256;

  asio::awaitable<answer> initialize(const protocol::message& msg) {
    if (state_ != lifecycle::awaiting_initialize || initializing_) {
      co_return answer::fail({error_code::invalid_request,
                              "Invalid Request: initialize was already received", std::nullopt});
    }
    const auto params = msg.params();
    const auto version = protocol::string_member(params, "protocolVersion");
    if (!version) co_return answer::invalid_params("initialize needs a string protocolVersion");
    // Everything the host said is read before the session changes state: a malformed field
    // is answered (or ignored) and a later initialize can still succeed.
    const auto* capabilities = protocol::object_member(params, "capabilities");
    const auto* info = protocol::object_member(params, "clientInfo");
    const auto client = protocol::string_or(info != nullptr ? *info : json(), "name", "?") + " " +
                        protocol::string_or(info != nullptr ? *info : json(), "version", "?");
    const auto negotiated = std::string(protocol::negotiate_version(*version));
    initializing_ = true;
    client_capabilities_ = capabilities != nullptr ? *capabilities : json::object();
    auto& upstreams = hub_.upstreams();
    if (!co_await upstreams.ensure_started(client_capabilities_, upstreams.start_deadline())) {
      spdlog::warn("upstreams still starting when initialize was answered");
    }
    negotiated_ = negotiated;
    client_info_ = info != nullptr ? *info : json::object();
    ++changes_;
    state_ = lifecycle::initialized;
    initializing_ = false;
    initialized_.set();
    spdlog::info("host {} {} initialized (protocol {})", id_, protocol::log_safe(client, 200),
                 negotiated_);
    json result{{"protocolVersion", negotiated_},
                {"capabilities", upstreams.server_capabilities()},
                {"serverInfo", {{"name", "manifold"}, {"version", manifold::version}}}};
    if (auto instructions = upstreams.instructions(); !instructions.empty()) {
      result["instructions"] = std::move(instructions);
    }
    co_return answer::ok(std::move(result));
  }

  // A resumed session's log level and subscriptions, applied to this process's upstreams once
  // they are started (bounded by their start deadline). A subscription that no longer
  // resolves is dropped from the state.
  static asio::awaitable<void> restore(std::shared_ptr<session> self) {
    auto& upstreams = self->hub_.upstreams();
    if (!co_await upstreams.ensure_started(self->client_capabilities_, upstreams.start_deadline())) {
      spdlog::warn("host {}: upstreams still starting when the resumed session went on", self->id_);
    }
    self->initializing_ = false;
    self->initialized_.set();
    if (self->stopped_) co_return;
    if (self->log_threshold_ >= 0) co_await self->hub_.apply_log_levels();
    const auto uris = std::move(self->pending_subscriptions_);
    for (const auto& uri : uris) {
      if (self->stopped_) co_return;
      request_context ctx{*self, self->hub_, "resources/subscribe", nullptr, nullptr, self->view_};
      json params{{"uri", uri}};
      auto out = co_await subscribe(ctx, std::move(params));
      if (out.error) {
        spdlog::warn("host {}: resubscribing to {} failed: {}", self->id_, protocol::log_safe(uri, 200),
                     out.error->message);
        self->note_subscription(uri, false);
      }
    }
  }

  // `method`: of the request a response answers, for the tap.
  void send(const json& message, const json& related = nullptr, std::string_view method = {}) {
    if (stopped_) return;
    if (auto* t = tap(); t != nullptr) t->publish(observe::tap_direction::manifold_to_host, label_, {}, message, method);
    auto text = protocol::serialize(message);
    spdlog::trace("host {} <- {}", id_, protocol::log_safe(text));
    if (related.is_null()) {
      link_->send(std::move(text));
    } else {
      link_->send_related(std::move(text), related);
    }
  }

  asio::any_io_executor executor_;
  std::shared_ptr<protocol::channel> link_;
  relay_impl& hub_;
  std::uint64_t id_;
  std::string group_;
  session_identity who_;
  std::string label_;
  std::optional<protocol::modern::received_headers> param_headers_;  // expect_param_headers
  std::string view_key_;
  std::shared_ptr<const ns::view> view_;
  lifecycle state_ = lifecycle::awaiting_initialize;
  bool initializing_ = false;
  std::string negotiated_;
  json client_capabilities_ = json::object();
  json client_info_ = json::object();
  int log_threshold_ = -1;
  std::string log_level_;
  std::set<std::string> subscriptions_;
  std::vector<std::string> pending_subscriptions_;  // a resumed session's, until restored
  std::uint64_t changes_ = 0;
  bool resumed_ = false;
  // A 2026-07-28 request in flight: the lowest log severity it hears, the capabilities it
  // declares, and the capability a server asked for that it lacks (null: none).
  struct modern_request {
    int log_threshold = 8;
    json capabilities;
    json required;
  };
  std::unordered_map<std::string, modern_request> modern_requests_;  // by id as JSON text
  std::map<std::string, listen_record> listens_;  // open subscriptions/listen, by id
  // Host requests in flight by their id (as JSON text), each with its cancel handle.
  std::unordered_map<std::string, std::shared_ptr<protocol::call_control>> in_flight_;
  io::request_tracker outbound_;  // requests manifold sent to the host
  bool closing_ = false;
  bool stopped_ = false;
  io::event drained_;
  io::event initialized_;
};

}  // namespace

std::shared_ptr<host_session> relay_impl::open_session(std::shared_ptr<protocol::channel> link,
                                                      group_view group, session_identity who) {
  return std::make_shared<session>(executor_, std::move(link), *this, next_session_++, group,
                                   std::move(who));
}

}  // namespace manifold::proxy
