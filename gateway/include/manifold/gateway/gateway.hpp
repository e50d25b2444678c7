#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <map>
#include <set>
#include <tuple>

#include "manifold/config/config.hpp"
#include "manifold/io/event.hpp"
#include "manifold/namespace/catalog.hpp"
#include "manifold/proxy/backend.hpp"
#include "manifold/proxy/relay.hpp"
#include "manifold/upstream/supervisor.hpp"

namespace manifold::gateway {

// The composition root's glue: the upstreams (supervisor) on one side, the catalog and the
// relay the proxy serves on the other. Keeps each upstream's lists, rebuilds an immutable
// catalog from them when one changes (list_changed), swaps it in and tells the relay.
// Thread: the io thread.
class backend final : public proxy::backend {
 public:
  backend(boost::asio::any_io_executor executor, const config::config& cfg);

  // Where upstream notifications and requests go; set before serving.
  void attach(proxy::relay* relay) { relay_ = relay; }
  // Starts every child process now, ahead of the host's initialize.
  boost::asio::awaitable<void> launch();
  // Applies a new, already validated config while serving: only servers whose launch
  // settings changed restart (new ones start, removed ones stop once their calls in flight
  // are answered); naming, policy, overrides and pinning apply at once; the catalog is
  // swapped and hosts hear list_changed. Groups, limits and HTTP settings need a restart.
  boost::asio::awaitable<void> reload(config::config next) {
    // (the config behind a pointer: GCC 12 misreports new/delete in coroutine frames that
    // hold a config by value)
    return reload_owned(std::make_unique<config::config>(std::move(next)));
  }
  boost::asio::awaitable<void> stop(std::chrono::milliseconds budget);

  boost::asio::awaitable<bool> ensure_started(protocol::json client_capabilities,
                                              std::chrono::steady_clock::time_point deadline) override;
  [[nodiscard]] std::chrono::steady_clock::time_point start_deadline() const override {
    return start_deadline_;
  }
  [[nodiscard]] std::shared_ptr<const ns::catalog> snapshot() const override { return catalog_; }
  using proxy::backend::peer;
  [[nodiscard]] protocol::rpc_peer* peer(std::string_view server, std::uint64_t session,
                                         const protocol::json& session_capabilities,
                                         std::string_view principal) override;
  void release_session(std::uint64_t session) override;
  [[nodiscard]] std::vector<std::string> upstreams_with(std::string_view capability) const override;
  [[nodiscard]] bool ready() const override { return ready_.is_set(); }
  [[nodiscard]] protocol::json status() const override;
  [[nodiscard]] protocol::json server_capabilities() const override;
  [[nodiscard]] std::string instructions() const override;

  [[nodiscard]] const upstream::supervisor& upstreams() const { return supervisor_; }
  // The first catalog had name collisions under naming.on_collision: error.
  [[nodiscard]] bool refused() const { return refused_; }
  // Where an instance that exchanges its caller's token (oauth.grant: token_exchange) gets
  // that token: the principal's newest valid JWT, or "".
  void set_subject_tokens(std::function<std::string(std::string_view principal)> source) {
    subject_tokens_ = std::move(source);
  }
  // Called once when the first catalog is refused (the server then stops).
  void on_refused(std::function<void()> handler) { on_refused_ = std::move(handler); }
  // For reports (`manifold catalog`, `call`, `pin`...): the first catalog waits for every
  // upstream's first start instead of lifecycle.initialize_grace.
  void wait_for_all() { wait_for_all_ = true; }

 private:
  boost::asio::awaitable<void> reload_owned(std::unique_ptr<config::config> next);
  boost::asio::awaitable<void> start(protocol::json client_capabilities);
  // Fetches `kinds` of upstream `u` into `listing` (emptied when it cannot).
  static boost::asio::awaitable<void> fetch(std::shared_ptr<upstream::supervised_upstream> u,
                                            ns::upstream_listing& listing,
                                            std::set<ns::entry_kind> kinds);
  // Refetches after list_changed; bursts for one upstream coalesce into one refetch.
  boost::asio::awaitable<void> refresh(std::string server);
  void on_notification(const std::string& server, const protocol::message& msg);
  void request_refresh(const std::string& server, const std::set<ns::entry_kind>& kinds);
  void wire(const std::string& server, upstream::supervised_upstream& u, proxy::instance_owner owner);
  // The first start of one upstream: started, listed (then parked when `start: lazy`); a
  // late one joins the catalog (hosts hear list_changed).
  boost::asio::awaitable<void> start_one(std::shared_ptr<upstream::supervised_upstream> u);
  // A shared upstream went down or came back: its entries are withdrawn (on_down: hide) or
  // refetched.
  void upstream_changed(const std::string& server, upstream::upstream_state previous,
                        upstream::upstream_state next);
  // Timeout and retry safety of one call, from the catalog (annotations) and tools: overrides.
  [[nodiscard]] upstream::call_policy policy_for(const std::string& server, std::string_view method,
                                                 const protocol::json& params) const;
  void apply_faults(upstream::supervised_upstream& u) const;
  void update_policies(const ns::catalog& next);
  // Position of `server` in the current config, or npos.
  [[nodiscard]] std::size_t index_of(std::string_view server) const;
  void load_policy();
  // Builds a catalog from the listings; swaps it in when a host would see a difference.
  void rebuild();

  boost::asio::any_io_executor executor_;
  config::config config_;
  upstream::supervisor supervisor_;
  proxy::relay* relay_ = nullptr;
  std::vector<ns::upstream_listing> listings_;
  std::vector<ns::tool_override> overrides_;
  protocol::json lock_;  // pinning: the lock file's content (null: pinning off)
  std::map<std::string, std::set<ns::entry_kind>> pending_refresh_;
  std::set<std::string> refreshing_;
  protocol::json start_capabilities_;  // what upstreams were started with (for reloads)
  std::shared_ptr<const ns::catalog> catalog_ = std::make_shared<ns::catalog>();
  std::uint64_t generation_ = 0;
  bool started_ = false;
  bool stopping_ = false;
  bool refused_ = false;
  bool wait_for_all_ = false;
  // Upstreams whose first start (and listing) is still running, and how many.
  std::set<std::string> initial_pending_;
  std::size_t starting_ = 0;
  io::event all_started_;
  // Per server, per original tool name: the deadline and retry safety of its calls.
  std::map<std::string, std::map<std::string, upstream::call_policy, std::less<>>, std::less<>> policies_;
  std::function<std::string(std::string_view)> subject_tokens_;
  std::function<void()> on_refused_;  // no more refetches or rebuilds: the catalog stays as it was
  // Instances of isolated servers, by (server, session) for `isolation: session` and
  // (server, principal) for `isolation: principal`, with the sessions using each.
  struct isolated_instance {
    std::shared_ptr<protocol::rpc_peer> peer;
    std::set<std::uint64_t> users;
  };
  std::map<std::tuple<std::string, std::uint64_t, std::string>, isolated_instance> instances_;
  io::event ready_;
  std::chrono::steady_clock::time_point start_deadline_;
};

}  // namespace manifold::gateway
