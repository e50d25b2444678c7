#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string_view>

#include "manifold/namespace/catalog.hpp"
#include "manifold/protocol/json_rpc.hpp"
#include "manifold/protocol/peer.hpp"

namespace manifold::proxy {

// What a host session needs from the rest of manifold: the current catalog snapshot and the
// upstreams behind it. The app wires the upstream side to this; the proxy never sees it.
// Thread: the io thread.
class backend {
 public:
  backend() = default;
  backend(const backend&) = delete;
  backend& operator=(const backend&) = delete;
  virtual ~backend() = default;

  // The current snapshot; never null once ready. In-flight calls keep the one they started on.
  [[nodiscard]] virtual std::shared_ptr<const ns::catalog> snapshot() const = 0;
  // The upstream that serves `server`, or null when it is unknown.
  [[nodiscard]] virtual protocol::rpc_peer* peer(std::string_view server) = 0;
  // Waits until the first catalog is built (all upstreams started or given up on).
  // False when the deadline passed first.
  virtual boost::asio::awaitable<bool> wait_ready(std::chrono::steady_clock::time_point deadline) = 0;
  // The latest time wait_ready can take: startup must be bounded so a host never hangs.
  [[nodiscard]] virtual std::chrono::steady_clock::time_point ready_deadline() const = 0;
};

}  // namespace manifold::proxy
