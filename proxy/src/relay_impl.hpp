#pragma once

// Private to proxy/: the relay's internals, shared by relay.cpp and host_session.cpp.

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <map>
#include <set>
#include <unordered_map>

#include "argument_check.hpp"
#include "bridged_calls.hpp"
#include "manifold/io/event.hpp"
#include "manifold/proxy/relay.hpp"

namespace manifold::proxy {

using protocol::json;

// What the relay needs from a host session.
class host_endpoint {
 public:
  host_endpoint() = default;
  host_endpoint(const host_endpoint&) = delete;
  host_endpoint& operator=(const host_endpoint&) = delete;
  virtual ~host_endpoint() = default;

  [[nodiscard]] virtual std::uint64_t id() const = 0;
  // Whether it hears broadcasts (list changes, logs): an initialized session, or one with a
  // 2026-07-28 subscriptions/listen open.
  [[nodiscard]] virtual bool operating() const = 0;
  // Whether a server's request (sampling, elicitation, roots) may be sent to it: only a
  // handshake-era session; a 2026-07-28 host takes no requests from servers.
  [[nodiscard]] virtual bool accepts_requests() const = 0;
  // Whether this session may receive what instance `owner` sends: its own (session or
  // principal) or a shared instance's.
  [[nodiscard]] virtual bool served_by(const instance_owner& owner) const = 0;
  // Sessions with the same key share one view (group and roles).
  [[nodiscard]] virtual const std::string& view_key() const = 0;
  // The relay hands the session its view of each new catalog.
  virtual void set_view(std::shared_ptr<const ns::view> next) = 0;
  [[nodiscard]] virtual const json& client_capabilities() const = 0;
  // Lowest RFC 5424 severity index (0 debug ... 7 emergency) the host wants; -1 if unset.
  [[nodiscard]] virtual int log_threshold() const = 0;
  // The host is not keeping up: notifications that can be lost are dropped for it.
  [[nodiscard]] virtual bool backlogged() const = 0;
  // `related` is the host request the message belongs to (null: none).
  virtual void notify(std::string_view method, json params, const json& related) = 0;
  // The refusal of a server's request that this session cannot take for the host request
  // `related` (a 2026-07-28 request takes none), or nullopt when it may be sent.
  [[nodiscard]] virtual std::optional<protocol::rpc_reply> refuse_request(std::string_view method,
                                                                          const json& params,
                                                                          const json& related) = 0;
  // Sends a request to the host under a fresh manifold id and waits for its answer.
  virtual boost::asio::awaitable<protocol::rpc_reply> request(
      std::string method, json params, std::shared_ptr<protocol::call_control> control,
      const json& related) = 0;
};

// RFC 5424 severities as MCP names them, lowest first; -1 when unknown.
int log_severity(std::string_view level);
// The MCP name of severity index `severity`; empty when out of range.
std::string_view log_level_name(int severity);

class relay_impl final : public relay {
 public:
  relay_impl(boost::asio::any_io_executor executor, backend& backend, relay_options options);

  std::shared_ptr<host_session> open_session(std::shared_ptr<protocol::channel> link,
                                             group_view group, session_identity who) override;
  void upstream_notification(const std::string& server, const protocol::message& msg,
                             const instance_owner& owner) override;
  boost::asio::awaitable<protocol::rpc_reply> upstream_request(std::string server,
                                                              protocol::message msg,
                                                              instance_owner owner) override;
  void catalog_changed() override;

  // --- used by host sessions ---
  [[nodiscard]] backend& upstreams() { return backend_; }
  // The view of the current catalog for sessions with `key`, built from `rules` once.
  std::shared_ptr<const ns::view> view_for(const std::string& key,
                                           std::vector<std::shared_ptr<const ns::admission>> rules);
  // The compiled argument constraints of `tool` (null when it has none).
  std::shared_ptr<const argument_check> checks_for(const ns::catalog& catalog,
                                                   const ns::exposed_entry& tool);
  [[nodiscard]] const relay_options& options() const { return options_; }
  void attach(const std::shared_ptr<host_endpoint>& session);
  void detach(std::uint64_t session);
  // A session finished its handshake: requests upstreams sent before that can be routed.
  void session_operating() { any_operating_.set(); }

  // A call from `session` to `server`, for host request `request_id`, is in flight between
  // begin_call and end_call.
  std::uint64_t begin_call(const std::string& server, std::uint64_t session, const json& request_id);
  void end_call(const std::string& server, std::uint64_t ticket);

  // A progress token unique across upstreams standing for `host_token` of `session`'s
  // request `request_id`.
  json bind_progress(std::uint64_t session, const json& host_token, const json& request_id);
  void release_progress(const json& token);

  boost::asio::awaitable<protocol::rpc_reply> subscribe(std::uint64_t session, std::string principal,
                                                        const ns::uri_target& target,
                                                        const json& capabilities);
  boost::asio::awaitable<protocol::rpc_reply> unsubscribe(std::uint64_t session, std::string principal,
                                                          const ns::uri_target& target,
                                                          const json& capabilities);
  // Sets every upstream with `logging` to the most verbose level any session asked for.
  boost::asio::awaitable<void> apply_log_levels();
  void roots_changed();
  void record_task_owner(const std::string& exposed_task_id, std::uint64_t session);
  // Writes an audit record once the current handler has yielded (after the host's answer is
  // on its way): auditing stays off the latency path, and records keep their order.
  // `arguments` and `result` are measured (bytes) then, not on the path either.
  void audit_later(access::audit_record record, json result);
  // Asks host session `session`, for its request `related`, to answer an upstream's input
  // request (a 2026-07-28 upstream's InputRequiredResult), if it declared the capability.
  // `key`: the upstream's inputRequests key, kept in a bridged call's round where unique.
  boost::asio::awaitable<protocol::rpc_reply> ask_host(std::uint64_t session, std::string method,
                                                       json params, std::string key, json related,
                                                       std::shared_ptr<protocol::call_control> control);
  // A host's progress notification for a request an upstream sent through manifold.
  void host_progress(const json& params);
  // 2026-07-28 calls to handshake-era upstreams waiting for their hosts' input.
  [[nodiscard]] bridged_calls& bridges() { return bridges_; }

 private:
  std::shared_ptr<host_endpoint> find(std::uint64_t session) const;
  struct route {
    std::shared_ptr<host_endpoint> session;
    json related;           // the host request the upstream's message belongs to, if known
    std::string ambiguity;  // why no session could be proven the right one (null session)
  };
  route route_request(const std::string& server, const json& params, const instance_owner& owner) const;
  // The most recent call of `session` in flight to `server` (null if none).
  json current_call(const std::string& server, std::uint64_t session) const;
  void broadcast_log(const std::string& server, json params, const instance_owner& owner);
  void relay_progress(const std::string& server, json params);
  void note_backlog(std::uint64_t session);

  struct cached_view {
    std::vector<std::shared_ptr<const ns::admission>> rules;
    std::shared_ptr<const ns::view> view;
  };

  boost::asio::any_io_executor executor_;
  io::event any_operating_;
  std::unordered_map<std::string, cached_view> views_;  // by view key
  std::uint64_t checks_generation_ = 0;
  std::unordered_map<std::string, std::shared_ptr<const argument_check>> checks_;  // by tool
  backend& backend_;
  relay_options options_;
  ns::view_options view_options_;
  std::uint64_t dropped_for_backlog_ = 0;  // log/progress notifications hosts were too slow for
  std::uint64_t next_session_ = 1;
  std::map<std::uint64_t, std::weak_ptr<host_endpoint>> sessions_;
  std::uint64_t next_ticket_ = 1;
  struct call_entry {
    std::uint64_t session;
    json request_id;
  };
  // server -> (ticket -> call); tickets grow, so the last entry is the most recent call.
  std::unordered_map<std::string, std::map<std::uint64_t, call_entry>> calls_;
  struct progress_entry {
    std::uint64_t session;
    json host_token;
    json request_id;
  };
  std::int64_t next_progress_ = 1;
  std::unordered_map<std::int64_t, progress_entry> progress_;
  // (server, upstream URI) -> sessions subscribed through manifold.
  // (server, upstream URI) -> sessions subscribed through manifold, each with whether it
  // subscribed on an instance of its own (isolation) rather than the shared one.
  std::map<std::pair<std::string, std::string>, std::map<std::uint64_t, bool>> subscriptions_;
  std::unordered_map<std::string, std::uint64_t> task_owners_;
  std::unordered_map<std::string, std::uint64_t> elicitation_owners_;
  // progress tokens of requests upstreams sent to hosts -> the upstream.
  std::unordered_map<std::string, std::string> forwarded_progress_;
  // (server, upstream request id) -> control of the forwarded request, for the upstream's
  // own notifications/cancelled.
  std::map<std::pair<std::string, std::string>, std::shared_ptr<protocol::call_control>> forwarded_;
  bridged_calls bridges_;
};

}  // namespace manifold::proxy
