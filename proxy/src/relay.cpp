#include <boost/asio/post.hpp>
#include <spdlog/spdlog.h>

#include <array>

#include "manifold/io/parallel.hpp"
#include "manifold/namespace/task_ids.hpp"
#include "manifold/namespace/uri_rewrite.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/text.hpp"
#include "relay_impl.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;
namespace error_code = protocol::error_code;
using protocol::member;
using protocol::string_member;
using protocol::string_or;

namespace {

constexpr std::array<std::string_view, 8> severities{"debug",    "info",  "notice", "warning",
                                                     "error",    "critical", "alert", "emergency"};

std::string_view list_changed_method(ns::entry_kind kind) {
  switch (kind) {
    case ns::entry_kind::tool:
      return "notifications/tools/list_changed";
    case ns::entry_kind::prompt:
      return "notifications/prompts/list_changed";
    case ns::entry_kind::resource:
    case ns::entry_kind::resource_template:
      return "notifications/resources/list_changed";
  }
  return {};
}

// The capability a host must have declared for an upstream's request to reach it.
bool host_can_take(const json& caps, std::string_view method, const json& params) {
  if (!caps.is_object()) return false;
  if (method == "sampling/createMessage") return caps.contains("sampling");
  if (method == "roots/list") return caps.contains("roots");
  if (method == "elicitation/create") {
    const auto e = caps.find("elicitation");
    if (e == caps.end()) return false;
    const auto mode = string_or(params, "mode", "form");
    if (mode == "url") return e->is_object() && e->contains("url");
    // An empty elicitation capability means form mode (backwards compatibility).
    return !e->is_object() || e->empty() || e->contains("form");
  }
  if (method.substr(0, 6) == "tasks/") return caps.contains("tasks");
  return false;
}

asio::awaitable<void> unsubscribe_upstream(protocol::rpc_peer* peer, std::string uri) {
  json params{{"uri", std::move(uri)}};
  // (method and options as locals: GCC 12 mis-destroys temporaries inside co_await)
  std::string method = "resources/unsubscribe";
  protocol::call_options options;
  co_await peer->call(std::move(method), std::move(params), std::move(options));
}

bridge_limits bridge_limits_of(const relay_options& options) {
  bridge_limits out;
  out.lifetime = options.pending_call_timeout;
  out.max_calls = options.max_pending_calls;
  return out;
}

bool bridged_method(std::string_view method) {
  return method == "sampling/createMessage" || method == "elicitation/create" || method == "roots/list";
}

}  // namespace

std::string_view log_level_name(int severity) {
  if (severity < 0 || static_cast<std::size_t>(severity) >= severities.size()) return {};
  return severities[static_cast<std::size_t>(severity)];
}

int log_severity(std::string_view level) {
  for (std::size_t i = 0; i < severities.size(); ++i) {
    if (severities[i] == level) return static_cast<int>(i);
  }
  return -1;
}

relay_impl::relay_impl(asio::any_io_executor executor, backend& backend, relay_options options)
    : executor_(std::move(executor)), backend_(backend), options_(options),
      view_options_{options.tool_cap, options.meta_tools},
      bridges_(executor_, bridge_limits_of(options)) {}

void relay_impl::attach(const std::shared_ptr<host_endpoint>& session) {
  sessions_[session->id()] = session;
}

void relay_impl::detach(std::uint64_t session) {
  if (auto s = find(session)) {
    const auto& key = s->view_key();
    const bool shared = std::any_of(sessions_.begin(), sessions_.end(), [&](const auto& entry) {
      auto other = entry.second.lock();
      return entry.first != session && other && other->view_key() == key;
    });
    if (!shared) views_.erase(key);
  }
  sessions_.erase(session);
  backend_.release_session(session);
  std::erase_if(progress_, [session](const auto& p) { return p.second.session == session; });
  std::erase_if(task_owners_, [session](const auto& p) { return p.second == session; });
  std::erase_if(elicitation_owners_, [session](const auto& p) { return p.second == session; });
  // Subscriptions only this session held on a shared instance are ended upstream (an
  // instance of its own ends with it).
  for (auto it = subscriptions_.begin(); it != subscriptions_.end();) {
    const auto mine = it->second.find(session);
    const bool shared = mine != it->second.end() && !mine->second;
    if (mine != it->second.end()) it->second.erase(mine);
    const bool others_shared = std::any_of(it->second.begin(), it->second.end(), [](const auto& e) { return !e.second; });
    if (shared && !others_shared) {
      if (auto* peer = backend_.peer(it->first.first)) {
        asio::co_spawn(executor_, unsubscribe_upstream(peer, it->first.second),
                       io::log_failure("resources/unsubscribe"));
      }
    }
    it = it->second.empty() ? subscriptions_.erase(it) : std::next(it);
  }
}

std::shared_ptr<host_endpoint> relay_impl::find(std::uint64_t session) const {
  const auto it = sessions_.find(session);
  return it == sessions_.end() ? nullptr : it->second.lock();
}

std::shared_ptr<const ns::view> relay_impl::view_for(
    const std::string& key, std::vector<std::shared_ptr<const ns::admission>> rules) {
  const auto catalog = backend_.snapshot();
  auto& cached = views_[key];
  if (!cached.view || cached.view->source_ptr() != catalog) {
    cached.rules = std::move(rules);
    cached.view = std::make_shared<const ns::view>(catalog, cached.rules, view_options_);
  }
  return cached.view;
}

std::shared_ptr<const argument_check> relay_impl::checks_for(const ns::catalog& catalog,
                                                             const ns::exposed_entry& tool) {
  // Compiled once per tool and catalog; a call still running on an older catalog compiles
  // its own.
  if (catalog.generation() != checks_generation_) {
    if (catalog.generation() < checks_generation_) return std::make_shared<argument_check>(tool);
    checks_.clear();
    checks_generation_ = catalog.generation();
  }
  auto& slot = checks_[tool.name];
  if (!slot) slot = std::make_shared<argument_check>(tool);
  return slot;
}

std::uint64_t relay_impl::begin_call(const std::string& server, std::uint64_t session,
                                     const json& request_id) {
  const auto ticket = next_ticket_++;
  calls_[server][ticket] = {session, request_id};
  return ticket;
}

json relay_impl::current_call(const std::string& server, std::uint64_t session) const {
  const auto calls = calls_.find(server);
  if (calls == calls_.end()) return nullptr;
  for (auto it = calls->second.rbegin(); it != calls->second.rend(); ++it) {
    if (it->second.session == session) return it->second.request_id;
  }
  return nullptr;
}

void relay_impl::end_call(const std::string& server, std::uint64_t ticket) {
  const auto it = calls_.find(server);
  if (it != calls_.end()) it->second.erase(ticket);
}

json relay_impl::bind_progress(std::uint64_t session, const json& host_token,
                               const json& request_id) {
  const auto token = next_progress_++;
  progress_[token] = {session, host_token, request_id};
  return token;
}

void relay_impl::release_progress(const json& token) {
  if (const auto minted = protocol::integer_value(token)) progress_.erase(*minted);
}

asio::awaitable<protocol::rpc_reply> relay_impl::subscribe(std::uint64_t session, std::string principal,
                                                          const ns::uri_target& target,
                                                          const json& capabilities) {
  auto* peer = backend_.peer(target.server, session, capabilities, principal);
  if (peer == nullptr) co_return protocol::rpc_reply::failure(error_code::internal_error, "no such upstream");
  const bool own = peer != backend_.peer(target.server);
  auto& subscribers = subscriptions_[{target.server, target.uri}];
  const bool shared_already = std::any_of(subscribers.begin(), subscribers.end(), [](const auto& e) { return !e.second; });
  if (!own && shared_already) {  // already subscribed upstream for another session
    subscribers[session] = false;
    co_return protocol::rpc_reply{json::object(), std::nullopt};
  }
  json params{{"uri", target.uri}};  // (built outside co_await: GCC 12 mis-compiles it inside)
  std::string method = "resources/subscribe";
  protocol::call_options options;
  auto reply = co_await peer->call(std::move(method), std::move(params), std::move(options));
  if (reply.ok()) {
    subscriptions_[{target.server, target.uri}][session] = own;
  } else if (subscriptions_[{target.server, target.uri}].empty()) {
    subscriptions_.erase({target.server, target.uri});
  }
  co_return reply;
}

asio::awaitable<protocol::rpc_reply> relay_impl::unsubscribe(std::uint64_t session, std::string principal,
                                                            const ns::uri_target& target,
                                                            const json& capabilities) {
  const auto it = subscriptions_.find({target.server, target.uri});
  if (it == subscriptions_.end()) co_return protocol::rpc_reply{json::object(), std::nullopt};
  const auto mine = it->second.find(session);
  if (mine == it->second.end()) co_return protocol::rpc_reply{json::object(), std::nullopt};  // idempotent
  const bool own = mine->second;
  it->second.erase(mine);
  const bool others_shared = std::any_of(it->second.begin(), it->second.end(), [](const auto& e) { return !e.second; });
  if (it->second.empty()) subscriptions_.erase(it);
  if (!own && others_shared) co_return protocol::rpc_reply{json::object(), std::nullopt};
  auto* peer = backend_.peer(target.server, session, capabilities, principal);
  if (peer == nullptr) co_return protocol::rpc_reply{json::object(), std::nullopt};
  json params{{"uri", target.uri}};
  std::string method = "resources/unsubscribe";
  protocol::call_options options;
  co_return co_await peer->call(std::move(method), std::move(params), std::move(options));
}

asio::awaitable<void> relay_impl::apply_log_levels() {
  int most_verbose = -1;
  for (const auto& [id, weak] : sessions_) {
    if (auto s = weak.lock(); s && s->log_threshold() >= 0) {
      most_verbose = most_verbose < 0 ? s->log_threshold() : std::min(most_verbose, s->log_threshold());
    }
  }
  if (most_verbose < 0) co_return;
  const auto level = std::string(severities[static_cast<std::size_t>(most_verbose)]);
  auto servers = backend_.upstreams_with("/logging");
  co_await io::parallel_for_each(servers, [this, &level](const std::string& server) -> asio::awaitable<void> {
    if (auto* peer = backend_.peer(server)) {
      json params{{"level", level}};
      std::string method = "logging/setLevel";
      protocol::call_options options;
      auto reply = co_await peer->call(std::move(method), std::move(params), std::move(options));
      if (!reply.ok()) {
        spdlog::warn("[{}] logging/setLevel {} failed: {}", server, level, reply.error->message);
      }
    }
  });
}

void relay_impl::roots_changed() {
  for (const auto& server : backend_.upstreams_with("")) {
    if (auto* peer = backend_.peer(server)) peer->notify("notifications/roots/list_changed", nullptr);
  }
}

void relay_impl::audit_later(access::audit_record record, json result) {
  asio::post(executor_, [gate = options_.gate, r = std::move(record), result = std::move(result)]() mutable {
    r.bytes_in = r.arguments.is_null() ? 0 : r.arguments.dump().size();
    if (!result.is_null()) r.bytes_out = result.dump().size();
    gate->audit(r);
  });
}

void relay_impl::record_task_owner(const std::string& exposed_task_id, std::uint64_t session) {
  task_owners_[exposed_task_id] = session;
}

void relay_impl::host_progress(const json& params) {
  const auto* token = member(params, "progressToken");
  if (token == nullptr) return;
  const auto it = forwarded_progress_.find(token->dump());
  if (it == forwarded_progress_.end()) return;
  if (auto* peer = backend_.peer(it->second)) peer->notify("notifications/progress", params);
}

void relay_impl::catalog_changed() {
  const auto catalog = backend_.snapshot();
  std::unordered_map<std::string, std::vector<ns::entry_kind>> changed;  // by view key
  for (auto& [key, cached] : views_) {
    auto next = std::make_shared<const ns::view>(catalog, cached.rules, view_options_);
    if (cached.view) changed[key] = ns::changed_kinds(*cached.view, *next);
    cached.view = std::move(next);
  }
  for (const auto& [id, weak] : sessions_) {
    auto s = weak.lock();
    if (!s) continue;
    const auto it = views_.find(s->view_key());
    if (it == views_.end()) continue;
    s->set_view(it->second.view);
    if (!s->operating()) continue;
    std::set<std::string_view> methods;
    for (const auto kind : changed[s->view_key()]) methods.insert(list_changed_method(kind));
    for (const auto method : methods) s->notify(method, nullptr, nullptr);
  }
}

void relay_impl::broadcast_log(const std::string& server, json params, const instance_owner& owner) {
  if (!params.is_object()) return;
  const auto severity = log_severity(string_or(params, "level"));
  // Tag the logger with the server it came from.
  const auto logger = string_member(params, "logger");
  params["logger"] = logger ? server + "/" + std::string(*logger) : server;
  for (const auto& [id, weak] : sessions_) {
    auto s = weak.lock();
    if (!s || !s->operating() || !s->served_by(owner)) continue;
    if (severity >= 0 && severity < s->log_threshold()) continue;
    if (s->backlogged()) {
      note_backlog(id);
      continue;
    }
    s->notify("notifications/message", params, current_call(server, id));
  }
}

void relay_impl::upstream_notification(const std::string& server, const protocol::message& msg,
                                       const instance_owner& owner) {
  const auto method = msg.method();
  auto params = msg.params();
  if (!params.is_object()) {
    spdlog::warn("[{}] sent {} with params that are not an object; dropped", server,
                 protocol::log_safe(method, 100));
    return;
  }
  if (method == "notifications/progress") {
    relay_progress(server, std::move(params));
  } else if (method == "notifications/message") {
    broadcast_log(server, std::move(params), owner);
  } else if (method == "notifications/resources/updated") {
    const auto uri = string_member(params, "uri");
    if (!uri) return;
    const auto it = subscriptions_.find({server, std::string(*uri)});
    if (it == subscriptions_.end()) return;
    ns::expose_uris(*backend_.snapshot(), server, method, params);
    for (const auto& [session, own] : it->second) {
      if (auto s = find(session); s && s->served_by(owner)) s->notify(method, params, nullptr);
    }
  } else if (method == "notifications/tasks/status") {
    ns::expose_task_ids(server, params);
    const auto task = string_member(params, "taskId");
    const auto it = task ? task_owners_.find(std::string(*task)) : task_owners_.end();
    if (it == task_owners_.end()) return;
    if (auto s = find(it->second)) s->notify(method, std::move(params), nullptr);
  } else if (method == "notifications/elicitation/complete") {
    const auto elicitation = string_member(params, "elicitationId");
    const auto it = elicitation ? elicitation_owners_.find(std::string(*elicitation))
                                : elicitation_owners_.end();
    if (it == elicitation_owners_.end()) return;
    if (auto s = find(it->second)) s->notify(method, std::move(params), nullptr);
    elicitation_owners_.erase(it);
  } else if (method == "notifications/cancelled") {
    // The upstream gave up on a request it sent to a host through manifold.
    const auto* request = member(params, "requestId");
    const auto it = request ? forwarded_.find({server, request->dump()}) : forwarded_.end();
    if (it != forwarded_.end() && it->second->cancel) {
      it->second->cancel(string_or(params, "reason", "cancelled by the server"));
    }
  } else {
    spdlog::debug("[{}] notification {} not relayed", server, protocol::log_safe(method, 100));
  }
}

void relay_impl::note_backlog(std::uint64_t session) {
  if (dropped_for_backlog_++ % 10'000 == 0) {
    spdlog::warn("host {} is not keeping up with what manifold sends it: log and progress "
                 "notifications are dropped until it catches up ({} dropped so far)",
                 session, dropped_for_backlog_);
  }
}

void relay_impl::relay_progress(const std::string& server, json params) {
  const auto token = protocol::integer_member(params, "progressToken");
  const auto it = token ? progress_.find(*token) : progress_.end();
  if (it == progress_.end()) {
    spdlog::debug("[{}] progress for an unknown token; dropped", server);
    return;
  }
  if (auto s = find(it->second.session)) {
    if (s->backlogged()) {
      note_backlog(s->id());
      return;
    }
    params["progressToken"] = it->second.host_token;
    s->notify("notifications/progress", std::move(params), it->second.request_id);
  }
}

relay_impl::route relay_impl::route_request(const std::string& server, const json& params,
                                            const instance_owner& owner) const {
  if (owner.session != 0) {  // an instance of one session's own (isolation: session)
    auto s = find(owner.session);
    return {s, s ? current_call(server, owner.session) : json(), {}};
  }
  // The task the request names, if a session owns it.
  if (const auto* meta = protocol::object_member(params, "_meta")) {
    if (const auto* related = protocol::object_member(*meta, ns::related_task_key)) {
      if (const auto task = string_member(*related, "taskId")) {
        const auto exposed = ns::expose_task_id(server, std::string(*task));
        if (const auto task_owner = task_owners_.find(exposed); task_owner != task_owners_.end()) {
          if (auto s = find(task_owner->second); s && s->served_by(owner)) {
            return {s, current_call(server, s->id()), {}};
          }
        }
      }
    }
  }
  // The one session with calls in flight to this upstream.
  // A bridged 2026-07-28 call whose host has been asked for every request the upstream sent
  // it is quiescent: its upstream is blocked on those answers. Such calls do not make the
  // route ambiguous for another call of the same principal; only when no other call is in
  // flight is one of them meant.
  std::shared_ptr<host_endpoint> caller;
  json related;
  std::set<std::uint64_t> callers;
  std::shared_ptr<host_endpoint> idle_caller;
  json idle_related;
  std::set<std::uint64_t> idle_callers;
  std::set<std::string> idle_principals;
  if (const auto calls = calls_.find(server); calls != calls_.end()) {
    for (auto it = calls->second.rbegin(); it != calls->second.rend(); ++it) {
      auto s = find(it->second.session);
      if (!s || !s->served_by(owner)) continue;
      if (const auto bridged = bridges_.find_related(it->second.request_id); bridged && bridged->quiescent()) {
        idle_principals.insert(bridged->principal());
        if (idle_callers.insert(s->id()).second && idle_callers.size() == 1) {
          idle_caller = s;
          idle_related = it->second.request_id;
        }
        continue;
      }
      if (callers.insert(s->id()).second && callers.size() == 1) {
        caller = s;
        related = it->second.request_id;
      }
    }
  }
  if (callers.empty()) {
    callers = std::move(idle_callers);
    caller = std::move(idle_caller);
    related = std::move(idle_related);
  } else if (callers.size() == 1) {
    for (const auto& principal : idle_principals) {
      if (!caller->served_by(instance_owner{0, principal})) callers.insert(0);  // another principal's: ambiguous
    }
  }
  if (callers.size() > 1) {
    return {nullptr, nullptr,
            std::to_string(callers.size()) + " host sessions have calls in flight to it"};
  }
  if (caller) return {caller, related, {}};
  // No call in flight: only a lone session can be meant.
  std::shared_ptr<host_endpoint> only;
  std::size_t operating = 0;
  for (const auto& [id, weak] : sessions_) {
    if (auto s = weak.lock(); s && s->accepts_requests() && s->served_by(owner)) {
      ++operating;
      only = s;
    }
  }
  if (operating == 1) return {only, nullptr, {}};
  if (operating > 1) {
    return {nullptr, nullptr, std::to_string(operating) + " host sessions are connected and none has a call in flight to it"};
  }
  return {nullptr, nullptr, {}};
}

// GCC 12 reports the recycling allocator of asio's coroutine frames as a mismatched
// new/delete in this larger coroutine (a false positive, as in supervised_upstream.cpp).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
asio::awaitable<protocol::rpc_reply> relay_impl::upstream_request(std::string server,
                                                                 protocol::message msg,
                                                                 instance_owner owner) {
  const auto method = std::string(msg.method());
  auto params = msg.params();
  static const std::set<std::string, std::less<>> relayed{
      "sampling/createMessage", "elicitation/create", "roots/list", "tasks/get",
      "tasks/result",           "tasks/list",         "tasks/cancel"};
  if (relayed.find(method) == relayed.end()) {
    co_return protocol::rpc_reply::failure(error_code::method_not_found,
                                           "Method not found: " + protocol::log_safe(method, 100));
  }
  if (!params.is_object() && !params.is_null()) {
    co_return protocol::rpc_reply::failure(error_code::invalid_params, "params must be an object");
  }
  auto target = route_request(server, params, owner);
  if (!target.session && target.ambiguity.empty() && owner.session == 0 && !any_operating_.is_set()) {
    // Sent during start-up (a server asking for roots right after its initialize): wait for
    // the host to finish its own handshake, within the start-up deadline.
    co_await any_operating_.wait_until(backend_.start_deadline());
    target = route_request(server, params, owner);
  }
  const auto& session = target.session;
  if (!session && !target.ambiguity.empty()) {
    spdlog::warn("[{}] sent {}, but {}: refused (isolation: session or principal routes it exactly)",
                 server, method, target.ambiguity);
    co_return protocol::rpc_reply::failure(
        error_code::invalid_request,
        "isolation: manifold cannot tell which host session " + method + " is for (" +
            target.ambiguity + "); configure this server with isolation: session or principal");
  }
  if (!session) {
    spdlog::warn("[{}] sent {} but no host session can take it", server, method);
    co_return protocol::rpc_reply::failure(error_code::method_not_found,
                                           "no host session is connected to answer " + method);
  }
  if (auto call = bridged_method(method) ? bridges_.find_related(target.related) : nullptr) {
    // During a bridged 2026-07-28 call: the request waits to be asked of the host in a round.
    const auto upstream_id = msg.id().dump();
    auto control = std::make_shared<protocol::call_control>();
    forwarded_[{server, upstream_id}] = control;
    std::string unnamed;  // a handshake-era upstream's request: manifold names it
    auto reply = co_await call->ask(method, std::move(params), std::move(unnamed), control);
    forwarded_.erase({server, upstream_id});
    co_return reply;
  }
  if (auto refused = session->refuse_request(method, params, target.related)) {
    spdlog::info("[{}] sent {} during a 2026-07-28 request; refused", server, method);
    co_return std::move(*refused);
  }
  if (!host_can_take(session->client_capabilities(), method, params)) {
    spdlog::info("[{}] sent {}; the host did not declare that capability", server, method);
    co_return protocol::rpc_reply::failure(error_code::method_not_found,
                                           "the host does not support " + method);
  }
  const auto upstream_id = msg.id().dump();
  auto control = std::make_shared<protocol::call_control>();
  forwarded_[{server, upstream_id}] = control;
  std::string progress_key;
  if (const auto* meta = protocol::object_member(params, "_meta")) {
    if (const auto* token = member(*meta, "progressToken")) {
      progress_key = token->dump();
      forwarded_progress_[progress_key] = server;
    }
  }
  if (method == "elicitation/create" && string_or(params, "mode") == "url") {
    if (const auto id = string_member(params, "elicitationId")) {
      elicitation_owners_[std::string(*id)] = session->id();
    }
  }
  auto reply = co_await session->request(method, std::move(params), control, target.related);
  forwarded_.erase({server, upstream_id});
  if (!progress_key.empty()) forwarded_progress_.erase(progress_key);
  co_return reply;
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

asio::awaitable<protocol::rpc_reply> relay_impl::ask_host(std::uint64_t session_id, std::string method,
                                                          json params, std::string key, json related,
                                                          std::shared_ptr<protocol::call_control> control) {
  const auto session = find(session_id);
  if (!session) {
    co_return protocol::rpc_reply::failure(error_code::method_not_found, "the host session has ended");
  }
  if (auto call = bridged_method(method) ? bridges_.find_related(related) : nullptr) {
    // A 2026-07-28 host's bridged call: asked of the host in the call's next round.
    co_return co_await call->ask(std::move(method), std::move(params), std::move(key), std::move(control));
  }
  // (Any other 2026-07-28 request is answered by the session's own rules: refuse_request.)
  if (session->accepts_requests() && !host_can_take(session->client_capabilities(), method, params)) {
    co_return protocol::rpc_reply::failure(error_code::method_not_found,
                                           "the host did not declare the capability " + method + " needs");
  }
  co_return co_await session->request(std::move(method), std::move(params), std::move(control), related);
}

std::unique_ptr<relay> make_relay(asio::any_io_executor executor, backend& backend,
                                  relay_options options) {
  return std::make_unique<relay_impl>(std::move(executor), backend, options);
}

}  // namespace manifold::proxy
