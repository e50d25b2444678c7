#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "manifold/config/config.hpp"
#include "manifold/observe/telemetry.hpp"
#include "manifold/proxy/admin.hpp"

namespace manifold::gateway {

class backend;

// The operator's view of one running manifold, built from its config: owns the parts of
// observe/ the config turns on (metrics registry, tracer and OTLP exporter, traffic tap and
// its file, recent calls, the status page's live events) and hands out
//  - telemetry(): what the data path records into (relay, listeners, backend);
//  - endpoints(): what the admin endpoints serve (/metrics, the status page, the tap).
// Upstream states are read from the backend when /metrics is scraped and, while a status
// page is open, once a second (a change sends it a `status` event).
// Thread: the io thread; outlives the backend's users (relay, listeners) and the backend.
class observability {
 public:
  struct settings {
    std::string trace_file;  // serve --trace-file; overrides tap.file
  };

  // Throws std::runtime_error when the trace file cannot be opened or the OTLP endpoint is
  // not a usable URL (the config loader refuses most such configs first).
  observability(boost::asio::any_io_executor executor, const config::config& cfg, settings extra);
  ~observability();
  observability(const observability&) = delete;
  observability& operator=(const observability&) = delete;

  [[nodiscard]] const observe::telemetry* telemetry() const { return &telemetry_; }
  // The admin endpoints' content; valid after attach().
  [[nodiscard]] const proxy::admin_endpoints& endpoints() const { return endpoints_; }
  // Reads `b` (upstreams, catalog) for metrics and the page, and has it record upstream
  // traffic and catalog rebuilds. Once, before serving; `b` must outlive this.
  void attach(backend& b);
  // Starts the OTLP sender and the page's status watcher.
  void start();
  // Posts the spans still queued (within `deadline`) and stops the watcher.
  boost::asio::awaitable<void> stop(std::chrono::steady_clock::time_point deadline);

  // The status to open pages, when it changed since they last heard it.
  void publish_status();
  // The status page's JSON (observe/status_page.hpp), now.
  [[nodiscard]] protocol::json status_json() const;
  [[nodiscard]] protocol::json catalog_json() const;

 private:
  struct parts;
  std::unique_ptr<parts> parts_;
  observe::telemetry telemetry_;
  proxy::admin_endpoints endpoints_;
};

}  // namespace manifold::gateway
