#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/access/authenticator.hpp"
#include "manifold/observe/telemetry.hpp"
#include "manifold/protocol/json_rpc.hpp"

// The operator's endpoints of a listener, beside MCP: Prometheus metrics, the status page
// with its data and live events, and the traffic tap. Served by the HTTP listener, and by
// an admin-only listener in stdio mode (--metrics-listen). Behind the same checks as the MCP
// endpoints: Host and Origin, and authentication when auth is configured (/metrics is open
// when auth.public_endpoints lists it).
//
//   GET /metrics                  Prometheus text format 0.0.4
//   GET /, /ui, /ui/              the status page (/ redirects to /ui/); /ui/app.css, /ui/app.js
//   GET /ui/api/status|catalog|calls   its JSON (observe/status_page.hpp)
//   GET /ui/events                its live events (SSE: status, call, catalog)
//   GET /admin/tap?session=S&upstream=U&method=GLOB
//                                 the traffic tap: one JSON record per line (NDJSON), first
//                                 {"type":"start",...}, then message and lost records
//                                 (observe/tap.hpp); an empty line every 15 s keeps it alive
namespace manifold::proxy {

// What the admin endpoints serve; a member left empty turns its endpoints off.
struct admin_endpoints {
  std::function<std::string()> metrics;  // the exposition, read at each scrape
  bool ui = false;                       // the page's assets and `/`
  std::function<protocol::json()> status;
  std::function<protocol::json()> catalog;
  std::function<protocol::json()> calls;
  observe::status_feed* events = nullptr;
  observe::tap* tap = nullptr;  // the tap endpoint (tap.enabled)
  std::size_t tap_buffer = 1024;
  // The listener's own metrics and the trace context of HTTP requests; null: none.
  const observe::telemetry* telemetry = nullptr;

  [[nodiscard]] bool serves(std::string_view path) const;
};

// A listener for the admin endpoints alone. Thread: the io thread.
class admin_server {
 public:
  admin_server() = default;
  admin_server(const admin_server&) = delete;
  admin_server& operator=(const admin_server&) = delete;
  virtual ~admin_server() = default;

  [[nodiscard]] virtual std::uint16_t port() const = 0;
  // Accepts connections until stop().
  virtual boost::asio::awaitable<void> run() = 0;
  // Stops accepting, and ends the streams open on it.
  virtual void stop() = 0;
};

struct admin_listen_options {
  std::string address = "127.0.0.1";
  std::uint16_t port = 0;
  std::vector<std::string> allowed_hosts;    // Host values besides loopback ones
  std::vector<std::string> allowed_origins;  // Origins besides loopback ones
  access::authenticator* auth = nullptr;     // null: nobody is asked
};

// Binds now; throws std::runtime_error when the address cannot be bound. `admin` must outlive
// the server.
std::unique_ptr<admin_server> make_admin_server(boost::asio::any_io_executor executor,
                                                admin_listen_options options, const admin_endpoints& admin);

}  // namespace manifold::proxy
