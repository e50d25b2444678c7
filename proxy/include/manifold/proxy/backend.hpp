#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/namespace/catalog.hpp"
#include "manifold/protocol/json_rpc.hpp"
#include "manifold/protocol/peer.hpp"

namespace manifold::proxy {

// Whose instance of an upstream something concerns: the shared instance (session 0, no
// principal), one host session's (isolation: session) or one principal's (isolation:
// principal, shared by that principal's sessions).
struct instance_owner {
  std::uint64_t session = 0;
  std::string principal;

  [[nodiscard]] bool shared() const { return session == 0 && principal.empty(); }
};

// What host sessions need from the rest of manifold: the current catalog snapshot, the
// upstreams behind it and what they can do. The app wires the upstream side to this; the
// proxy never sees it. Thread: the io thread.
class backend {
 public:
  backend() = default;
  backend(const backend&) = delete;
  backend& operator=(const backend&) = delete;
  virtual ~backend() = default;

  // Starts the upstreams (once; later calls wait for the first) declaring the host's
  // `client_capabilities` to them, so that each upstream offers what the host can serve.
  // Returns when the first catalog is built or `deadline` passed (false then).
  virtual boost::asio::awaitable<bool> ensure_started(
      protocol::json client_capabilities, std::chrono::steady_clock::time_point deadline) = 0;
  // The latest time a start can take: startup is bounded so a host never hangs.
  [[nodiscard]] virtual std::chrono::steady_clock::time_point start_deadline() const = 0;

  // The current snapshot; never null. In-flight calls keep the one they started on.
  [[nodiscard]] virtual std::shared_ptr<const ns::catalog> snapshot() const = 0;
  // The upstream that serves `server` to host session `session` of `principal`, or null when
  // it is unknown: the shared instance, or, for a server with `isolation: session` or
  // `principal`, the session's or the principal's own instance, started on first use
  // declaring `session_capabilities`. Session 0 is manifold itself (fan-outs): always the
  // shared instance.
  [[nodiscard]] virtual protocol::rpc_peer* peer(std::string_view server, std::uint64_t session,
                                                 const protocol::json& session_capabilities,
                                                 std::string_view principal) = 0;
  [[nodiscard]] protocol::rpc_peer* peer(std::string_view server) {
    return peer(server, 0, nullptr, {});
  }
  // The session ended: upstream instances of its own are stopped, and a principal's when
  // it was that principal's last session.
  virtual void release_session(std::uint64_t session) = 0;
  // Names of the ready upstreams whose capabilities contain `capability` (a JSON pointer
  // such as "/logging" or "/tasks/list").
  [[nodiscard]] virtual std::vector<std::string> upstreams_with(std::string_view capability) const = 0;

  // True once the first catalog is built.
  [[nodiscard]] virtual bool ready() const = 0;
  // Each upstream's state, for health endpoints and status output.
  [[nodiscard]] virtual protocol::json status() const = 0;

  // What manifold can relay given its upstreams, for the initialize result.
  [[nodiscard]] virtual protocol::json server_capabilities() const = 0;
  // The upstreams' instructions, each labelled with its namespace.
  [[nodiscard]] virtual std::string instructions() const = 0;
};

}  // namespace manifold::proxy
