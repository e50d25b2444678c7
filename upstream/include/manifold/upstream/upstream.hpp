#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "manifold/config/config.hpp"
#include "manifold/protocol/peer.hpp"
#include "manifold/upstream/transport.hpp"

namespace manifold::upstream {

using json = protocol::json;

// created, launched, starting, ready, failed and closed are the states of one client session;
// a supervised upstream (supervised_upstream.hpp) adds degraded (answering, but failing
// health probes), backing_off (down, restarting after a delay) and idle (not running:
// `start: lazy` before its first call, or stopped after `idle_timeout`). closed reads
// "stopped", backing_off "backing-off".
enum class upstream_state { created, launched, starting, ready, degraded, backing_off, idle, failed, closed };
std::string_view to_string(upstream_state state);
// Answers calls: ready, or degraded.
[[nodiscard]] inline bool is_serving(upstream_state s) {
  return s == upstream_state::ready || s == upstream_state::degraded;
}

// What a failure drill (faults:) does to the next request sent through call(): its reply is
// dropped (the call runs into its deadline) or arrives as garbage (it fails at once).
enum class wire_fault { none, drop_reply, garbage_reply };

// What the upstream said about itself in its initialize result.
struct upstream_info {
  std::string protocol_version;
  json server_info = json::object();
  json capabilities = json::object();
  std::string instructions;
  // The result's `_meta`, when it has one: an exec server's self-check report is
  // _meta["manifold/exec"] = {"hidden": [{"tool", "reason"}], "version"} (exec_server.hpp).
  json meta = json::object();
};

// A list fetched across every page, or the error that stopped it.
struct list_outcome {
  std::vector<json> items;
  std::optional<protocol::rpc_error> error;
};

// manifold's client session with one upstream MCP server, over any transport.
// Thread: every call on the executor it was created with (manifold runs one thread).
// Requests may be in flight concurrently; replies are matched by manifold's own ids.
class upstream : public protocol::rpc_peer {
 public:
  // Notifications the upstream sends (list_changed, progress, logging ...).
  using notification_handler = std::function<void(const protocol::message&)>;
  // Requests the upstream sends to manifold (sampling, elicitation, roots). The reply goes
  // back under the upstream's own id. ping is answered without it.
  using request_handler =
      std::function<boost::asio::awaitable<protocol::rpc_reply>(protocol::message)>;

  [[nodiscard]] virtual const std::string& name() const = 0;
  [[nodiscard]] virtual upstream_state state() const = 0;
  [[nodiscard]] virtual const upstream_info& info() const = 0;
  // Why the upstream is failed or closed, for logs and status output.
  [[nodiscard]] virtual std::string problem() const = 0;

  // Opens the transport (starts the process) without the handshake, so that a slow start-up
  // overlaps with waiting for the host. Failure is recorded; start() then reports it.
  virtual boost::asio::awaitable<void> launch() = 0;
  // Launches if needed, then performs the initialize handshake declaring
  // `client_capabilities`, all within the server's startup_timeout. On failure the state is
  // `failed`, problem() says why, and the transport is shut down. Returns whether ready.
  virtual boost::asio::awaitable<bool> start(json client_capabilities) = 0;
  // `method` (e.g. tools/list) followed across every nextCursor; `key` names the array.
  virtual boost::asio::awaitable<list_outcome> list_all(std::string method, std::string key) = 0;
  // Waits until no request is in flight (each is bounded by its own deadline).
  virtual boost::asio::awaitable<void> drain() = 0;
  // Ends the session within `budget`; in-flight requests fail with connection_closed.
  virtual boost::asio::awaitable<void> stop(std::chrono::milliseconds budget) = 0;
  virtual void on_notification(notification_handler handler) = 0;
  virtual void on_request(request_handler handler) = 0;
  // Called once when the link ends on its own after the launch (a crash, an exit, a closed
  // connection), with why; never after stop().
  virtual void on_ended(std::function<void(const std::string& why)> handler) = 0;

  // Failure drills. abort(): the link ends at once, as in a crash (a child gets SIGKILL, a
  // connection is dropped). arm(): the next call() suffers `fault`. stall(): no message from
  // the upstream is read for `duration` (replies and pings wait).
  virtual void abort() = 0;
  virtual void arm(wire_fault fault) = 0;
  virtual void stall(std::chrono::milliseconds duration) = 0;
};

// A client session over `link`, configured by `server`, within `limits` (message size,
// requests in flight: beyond upstream_max_in_flight a call fails at once).
std::shared_ptr<upstream> make_upstream(boost::asio::any_io_executor executor,
                                        const config::server_config& server,
                                        std::unique_ptr<transport> link,
                                        const config::limits_config& limits);

}  // namespace manifold::upstream
