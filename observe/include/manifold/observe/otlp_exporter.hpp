#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "manifold/observe/span.hpp"

// OTLP/HTTP with the JSON encoding (https://opentelemetry.io/docs/specs/otlp/): batches of
// spans posted to a collector's /v1/traces. No OpenTelemetry SDK: the encoding is a pure
// function, the sender one coroutine.
namespace manifold::observe {

class metrics;

struct otlp_resource {
  std::string service_name = "manifold";
  std::string service_version{};
  std::string instance_id{};  // service.instance.id; empty: left out
};

// One ExportTraceServiceRequest in the OTLP JSON mapping: resourceSpans / scopeSpans / spans,
// trace and span ids as lowercase hex, times as decimal strings of Unix nanoseconds, kinds
// and status codes as their enum numbers, 64-bit integers as decimal strings.
nlohmann::json encode_otlp(std::span<const span> spans, const otlp_resource& resource);
// The same document as text, written without building the JSON tree (what the exporter
// posts; a batch costs one string). Invalid UTF-8 in strings becomes U+FFFD.
std::string encode_otlp_text(std::span<const span> spans, const otlp_resource& resource);

struct otlp_options {
  std::string endpoint{};  // http(s)://host[:port][/path]; a URL without a path gets /v1/traces
  std::map<std::string, std::string> headers{};  // e.g. an API key of the collector
  std::size_t batch_size = 512;                // spans per post
  std::chrono::milliseconds batch_interval{std::chrono::seconds(5)};  // longest a span waits
  std::size_t queue_size = 2048;               // spans waiting; more are dropped (counted)
  std::chrono::milliseconds timeout{std::chrono::seconds(10)};       // deadline of one post
  std::chrono::milliseconds max_backoff{std::chrono::seconds(60)};   // after failed posts
  otlp_resource resource{};
};

// The parts of an endpoint URL; nullopt (and `error`) for anything but http(s) with a host.
struct otlp_endpoint {
  bool tls = false;
  std::string host{};
  std::string port{};
  std::string target{};
};
std::optional<otlp_endpoint> parse_otlp_endpoint(const std::string& url, std::string& error);

// Queues finished spans and posts them in batches: when batch_size are waiting or
// batch_interval has passed since the oldest. A full queue drops the new span (counted as
// queue_full). A post that fails (no connection, deadline, a non-2xx status) drops its batch
// (export_failed) and the next post waits 1 s, doubling per failure up to max_backoff, while
// spans keep queueing up to queue_size: no retry storm, bounded memory.
// Thread: everything on the executor's thread.
class otlp_exporter final : public span_sink {
 public:
  // Throws std::invalid_argument when options.endpoint is not a usable URL.
  otlp_exporter(boost::asio::any_io_executor executor, otlp_options options,
                metrics* counters = nullptr);
  ~otlp_exporter() override;
  otlp_exporter(const otlp_exporter&) = delete;
  otlp_exporter& operator=(const otlp_exporter&) = delete;

  // Never blocks: queued, or dropped when the queue is full.
  void export_span(span&& s) override;
  // Starts the sender coroutine (once).
  void start();
  // Posts what is queued (within `deadline`), then ends the sender. Spans exported after
  // stop() are dropped.
  boost::asio::awaitable<void> stop(std::chrono::steady_clock::time_point deadline);

  struct stats {
    std::uint64_t exported = 0;      // accepted by the collector
    std::uint64_t dropped_full = 0;  // queue full
    std::uint64_t dropped_failed = 0;  // in batches the collector did not accept
    std::uint64_t posts = 0;
    std::uint64_t failed_posts = 0;
  };
  [[nodiscard]] stats statistics() const;
  [[nodiscard]] std::size_t queued() const;

 private:
  struct state;
  static boost::asio::awaitable<void> run(std::shared_ptr<state> s);
  std::shared_ptr<state> state_;
};

}  // namespace manifold::observe
