#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>
#include <set>

#include "manifold/io/event.hpp"
#include "manifold/io/request_tracker.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/protocol_version.hpp"
#include "manifold/protocol/text.hpp"
#include "manifold/version.hpp"
#include "methods.hpp"
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
    // The host closed its side: let in-flight requests finish (each has a deadline).
    closing_ = true;
    if (!in_flight_.empty()) {
      spdlog::debug("host closed its input; waiting for {} in-flight requests", in_flight_.size());
      co_await drained_.wait_until(clock::now() + hub_.options().drain_timeout);
    }
    outbound_.fail_all(rpc_reply::failure(error_code::connection_closed, "the host went away"));
    hub_.detach(id_);
  }

  void stop() override {
    stopped_ = true;
    for (auto& [id, control] : in_flight_) {
      if (control->cancel) control->cancel("the host session ended");
    }
    outbound_.fail_all(rpc_reply::failure(error_code::connection_closed, "the host went away"));
    link_->close();
    drained_.set();
  }

  // --- host_endpoint and session_api ---
  [[nodiscard]] std::uint64_t id() const override { return id_; }
  [[nodiscard]] bool operating() const override {
    return state_ != lifecycle::awaiting_initialize && !stopped_;
  }
  [[nodiscard]] const std::string& view_key() const override { return view_key_; }
  [[nodiscard]] const session_identity& identity() const override { return who_; }
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

  void notify(std::string_view method, json params, const json& related) override {
    send(protocol::make_notification(method, std::move(params)), related);
  }

  asio::awaitable<rpc_reply> request(std::string method, json params,
                                     std::shared_ptr<protocol::call_control> control,
                                     const json& related) override {
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
    on_message(std::move(*parsed.msg));
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
    answer out;
    try {
      out = co_await self->dispatch(msg, control);
    } catch (const std::exception& e) {
      spdlog::error("internal error handling {}: {}", protocol::log_safe(msg.method(), 100), e.what());
      out = answer::fail({error_code::internal_error, "Internal error in manifold", std::nullopt});
    }
    self->in_flight_.erase(key);
    if (!out.silent && !control->cancelled) {
      self->send(out.error ? protocol::make_error(msg.id(), *out.error)
                           : protocol::make_result(msg.id(), std::move(*out.result)),
                 msg.id());
    } else if (!self->stopped_) {
      self->link_->end_related(msg.id());  // cancelled: no response, and its stream ends
    }
    if (self->in_flight_.empty() && self->closing_) self->drained_.set();
  }

  asio::awaitable<answer> dispatch(const protocol::message& msg,
                                   const std::shared_ptr<protocol::call_control>& control) {
    const auto method = msg.method();
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
    request_context ctx{*this, hub_, std::string(method), msg.id(), control, view_};
    co_return co_await handler(ctx, std::move(params));
  }

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

  void send(const json& message, const json& related = nullptr) {
    if (stopped_) return;
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
