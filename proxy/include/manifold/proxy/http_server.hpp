#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "manifold/access/authenticator.hpp"
#include "manifold/access/call_gate.hpp"
#include "manifold/io/outbound_queue.hpp"
#include "manifold/proxy/admin.hpp"
#include "manifold/proxy/backend.hpp"
#include "manifold/proxy/key_ring.hpp"
#include "manifold/proxy/relay.hpp"

namespace manifold::proxy {

struct http_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;  // 0: the OS picks one (see port())
  // Origins allowed besides loopback ones (scheme://host[:port]); "*" allows any.
  std::vector<std::string> allowed_origins;
  // Host header values allowed besides the listen address and, on loopback, localhost.
  std::vector<std::string> allowed_hosts;
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t max_header_bytes = 16 * 1024;
  std::size_t max_sessions = 1000;
  std::chrono::milliseconds session_idle_timeout{std::chrono::minutes(30)};
  std::chrono::milliseconds read_timeout{std::chrono::seconds(30)};
  std::size_t replay_events = 256;  // per stream, for Last-Event-ID resumption
  // What may wait for one client, and how long one write to it may take.
  io::channel_limits client_limits;
  // The longest a host request can take (its upstream's deadline and a margin): a response
  // awaited longer than this is given up.
  std::chrono::milliseconds max_request_time{std::chrono::minutes(10)};
  std::vector<group_view> groups;  // each served at /mcp/<name> (and /ws/<name>)
  // https: certificate chain and key (PEM files); client_ca requires client certificates.
  std::string tls_cert;
  std::string tls_key;
  std::string tls_client_ca;
  // Who may call (auth:): every MCP request is authenticated; null: nobody is asked.
  access::authenticator* auth = nullptr;
  // The roles of an authenticated principal (roles:); null: no role rules.
  access::call_gate* gate = nullptr;
  // Metrics, the status page and the tap beside MCP (admin.hpp); null: none. Must outlive
  // the server.
  const admin_endpoints* admin = nullptr;
  // Sessions any replica can serve (http.sessions): a Streamable HTTP session's state is
  // sealed into its Mcp-Session-Id under this ring, and an id this process does not hold is
  // opened and the session continued. Null: random ids, sessions live in this process.
  std::shared_ptr<const key_ring> session_keys;
  std::chrono::seconds session_max_lifetime{std::chrono::hours(24)};  // no replica serves it longer
  std::size_t ended_sessions = 10000;  // sealed sessions ended here (DELETE) that stay refused
  // Where the other replicas reach this one (http[s]://host:port), for hosts' answers to
  // requests this one sent (sampling, elicitation) that the balancer hands to another.
  // Empty: the listen address when it is a specific one; none for 0.0.0.0 or ::.
  std::string advertise;
  // Base URLs (http[s]://host:port) of the other replicas, each host resolved to all its
  // addresses (a headless Service): told when a host ends a sealed session here, so that
  // they refuse its id too. Best effort: a replica that is down, or starts later, is not told.
  std::vector<std::string> session_peers;
};

// Serves MCP to hosts over HTTP (or https with http.tls): Streamable HTTP at /mcp (POST, GET, DELETE) and, for each
// group, at /mcp/<group>; the 2024-11-05
// HTTP+SSE transport at /sse and /message, WebSocket at /ws, and /healthz, /readyz.
// Each MCP session is a host session of its own. Thread: the io thread.
class http_server {
 public:
  http_server() = default;
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;
  virtual ~http_server() = default;

  [[nodiscard]] virtual std::uint16_t port() const = 0;
  // Accepts connections until stop().
  virtual boost::asio::awaitable<void> run() = 0;
  // Stops accepting and ends every session and connection.
  virtual void stop() = 0;
  // Graceful shutdown (SIGTERM): stops accepting connections, tells every session's stream
  // (a log notification, level warning), lets the requests in flight be answered until
  // `deadline` (connections close after their current request), then stop(). run() returns
  // once accepting stops; stop() during a drain ends it at once.
  virtual boost::asio::awaitable<void> drain(std::chrono::steady_clock::time_point deadline) = 0;
  // Serves TLS with these files from the next connection on (a renewed certificate); the
  // current settings stay when they cannot be loaded (the error is returned).
  virtual std::string set_tls(const std::string& cert, const std::string& key,
                              const std::string& client_ca) = 0;
  // Seals and opens session ids with this ring from now on (a reloaded http.sessions);
  // null turns sealing off. Sessions this process holds stay; ids sealed only by keys
  // that left the ring no longer open.
  virtual void set_session_keys(std::shared_ptr<const key_ring> keys) = 0;
};

// Binds now; throws std::runtime_error when the address cannot be bound.
std::unique_ptr<http_server> make_http_server(boost::asio::any_io_executor executor, relay& relay,
                                              backend& backend, http_options options);

}  // namespace manifold::proxy
