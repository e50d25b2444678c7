#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "manifold/namespace/catalog.hpp"
#include "manifold/protocol/channel.hpp"
#include "manifold/protocol/peer.hpp"
#include "manifold/proxy/backend.hpp"
#include "manifold/proxy/host_session.hpp"

namespace manifold::proxy {

// A group: the part of the catalog one virtual server shows, by exposed name (tools,
// prompts) or exposed URI (resources, templates). Anything it does not admit is absent from
// lists and refused like a name that never existed.
struct group_view {
  std::string name;  // empty: the whole catalog
  std::vector<std::string> include{"*"};
  std::vector<std::string> exclude;

  [[nodiscard]] bool admits(std::string_view exposed) const;
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
};

// Routes traffic between host sessions and upstreams, both ways: it opens host sessions,
// and the app hands it everything upstreams send that is not a reply (notifications and
// requests). It owns the mappings that must survive a single call: progress tokens,
// subscriptions, task owners, requests forwarded to hosts.
//
// An upstream configured with `isolation: session` has an instance per host session, and
// everything it sends goes to that session. Routing rule for an upstream shared by several
// host sessions (HTTP serves many):
// a request from an upstream (sampling, elicitation, roots, tasks/*) goes to the session
// that owns the task it names (related-task), else to the session with the most recently
// started call still in flight to that upstream, else to the most recently active session.
// It is forwarded only if that session declared the capability; otherwise the upstream gets
// -32601. Progress goes to the session whose request carried the token; resource updates to
// the sessions subscribed to that URI; log messages to every session whose level admits them.
// The rule cannot tell two sessions apart when both have calls in flight to a shared upstream
// that sends a request without naming a task; give such servers `isolation: session`.
// Thread: the io thread.
class relay {
 public:
  relay() = default;
  relay(const relay&) = delete;
  relay& operator=(const relay&) = delete;
  virtual ~relay() = default;

  // A new host session on `link`, seeing the catalog through `group`; run() it to serve.
  virtual std::shared_ptr<host_session> open_session(std::shared_ptr<protocol::channel> link,
                                                     group_view group) = 0;

  // From the upstream side (the app wires every upstream to these). `session` is the host
  // session that owns the upstream instance (isolation: session), or 0 for a shared one.
  virtual void upstream_notification(const std::string& server, const protocol::message& msg,
                                     std::uint64_t session) = 0;
  virtual boost::asio::awaitable<protocol::rpc_reply> upstream_request(std::string server,
                                                                      protocol::message msg,
                                                                      std::uint64_t session) = 0;
  // A new catalog is being served; sessions hear list_changed for these kinds.
  virtual void catalog_changed(const std::vector<ns::entry_kind>& kinds) = 0;
};

std::unique_ptr<relay> make_relay(boost::asio::any_io_executor executor, backend& backend,
                                  relay_options options);

}  // namespace manifold::proxy
