#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "manifold/access/call_gate.hpp"
#include "manifold/access/principal.hpp"
#include "manifold/access/role_view.hpp"
#include "manifold/namespace/catalog.hpp"
#include "manifold/namespace/view.hpp"
#include "manifold/observe/telemetry.hpp"
#include "manifold/protocol/channel.hpp"
#include "manifold/protocol/peer.hpp"
#include "manifold/proxy/backend.hpp"
#include "manifold/proxy/host_session.hpp"

namespace manifold::proxy {

// A group: the part of the catalog one virtual server shows, by exposed name (tools,
// prompts) or exposed URI (resources, templates). Anything it does not admit is absent from
// lists and refused like a name that never existed.
struct group_view {
  std::string name;                              // empty: the whole catalog
  std::shared_ptr<const ns::admission> filter;  // null: everything
};

// Who is on the other end of a host session: a principal (from an API key, a token, or the
// configured stdio identity) and what its roles let it see and call.
struct session_identity {
  std::shared_ptr<const access::principal> who;   // null: nobody in particular (no auth)
  std::shared_ptr<const access::role_view> roles;  // null: everything, no call-time rules

  [[nodiscard]] std::string principal_name() const { return who ? who->name : "anonymous"; }
  // Identities with equal keys see the same (their roles' key; "*": unrestricted).
  [[nodiscard]] std::string roles_key() const { return roles ? roles->key() : "*"; }
};

struct relay_options {
  std::size_t max_message_bytes = 4 * 1024 * 1024;
  std::size_t page_size = 0;  // items per page of manifold's own lists; 0: one page
  // How long a host may take to answer a request an upstream sent it (sampling,
  // elicitation: a person may be involved).
  std::chrono::milliseconds host_request_timeout{std::chrono::minutes(10)};
  // When a session would see more tools than this (0: no cap) and meta_tools is on, it sees
  // three tools instead: search_tools, describe_tool and call_tool.
  std::size_t tool_cap = 0;
  bool meta_tools = false;
  // Host requests one session may have in flight; more are refused at once.
  std::size_t max_in_flight = 512;
  // The access rules (call-time rules, limits, audit, forwarded identity); null: none.
  access::call_gate* gate = nullptr;
  // Metrics, traces, the traffic tap and recent calls (observe/telemetry.hpp); null: none.
  const observe::telemetry* telemetry = nullptr;
  // How long a session whose host closed its side waits for its requests in flight (each
  // is bounded by its upstream's deadline; this bounds the wait itself).
  std::chrono::milliseconds drain_timeout{std::chrono::seconds(65)};
  // A host with more than half of this waiting for it misses log and progress notifications
  // (its responses still go out) until it catches up.
  std::size_t max_queued_bytes = 64 * 1024 * 1024;
  // MCP 2026-07-28 hosts calling handshake-era upstreams that ask for input (sampling,
  // elicitation, roots) mid-call: the call waits for the host's retries this long at most
  // from its first request, and at most this many calls wait at once in this process (more
  // are ended with an error). Not configurable yet (README documents the values).
  std::chrono::milliseconds pending_call_timeout{std::chrono::minutes(10)};
  std::size_t max_pending_calls = 256;
};

// Routes traffic between host sessions and upstreams, both ways: it opens host sessions,
// and the app hands it everything upstreams send that is not a reply (notifications and
// requests). It owns the mappings that must survive a single call: progress tokens,
// subscriptions, task owners, requests forwarded to hosts.
//
// An upstream configured with `isolation: session` has an instance per host session, and
// everything it sends goes to that session. For an upstream shared by several host sessions
// (HTTP serves many), a request from it (sampling, elicitation, roots, tasks/*) goes only
// where it provably belongs: the session that owns the task it names (related-task), else
// the one session with calls in flight to that upstream, else the only session connected.
// When two or more sessions could be meant it is refused to the upstream with an error that
// names isolation: one host's prompt never reaches another host. It is forwarded only if
// that session declared the capability; otherwise the upstream gets -32601. Progress goes to
// the session whose request carried the token; resource updates to the sessions subscribed
// to that URI; log messages to every session whose level admits them.
// Thread: the io thread.
class relay {
 public:
  relay() = default;
  relay(const relay&) = delete;
  relay& operator=(const relay&) = delete;
  virtual ~relay() = default;

  // A new host session on `link` for `who`, seeing the catalog through `group` and its
  // roles; run() it to serve.
  virtual std::shared_ptr<host_session> open_session(std::shared_ptr<protocol::channel> link,
                                                     group_view group,
                                                     session_identity who = {}) = 0;

  // From the upstream side (the app wires every upstream to these). `owner` is whose
  // instance sent it: a session's or a principal's (isolation), or the shared one.
  virtual void upstream_notification(const std::string& server, const protocol::message& msg,
                                     const instance_owner& owner) = 0;
  virtual boost::asio::awaitable<protocol::rpc_reply> upstream_request(std::string server,
                                                                      protocol::message msg,
                                                                      instance_owner owner) = 0;
  // A new catalog is being served: every session's view is recomputed (once per group and
  // role set), and operating sessions hear list_changed for the lists that changed for them.
  virtual void catalog_changed() = 0;
};

std::unique_ptr<relay> make_relay(boost::asio::any_io_executor executor, backend& backend,
                                  relay_options options);

}  // namespace manifold::proxy
