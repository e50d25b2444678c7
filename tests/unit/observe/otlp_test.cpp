// The OTLP JSON encoding (golden) and the batching sender against an in-test HTTP receiver
// on 127.0.0.1 port 0: batches by size and by interval, headers, a failing collector, a
// collector that never answers, a full queue, and the flush on stop.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <functional>
#include <limits>

#include "manifold/observe/metrics.hpp"
#include "manifold/observe/otlp_exporter.hpp"

namespace manifold::observe {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;

span fixed_span() {
  span s;
  s.trace = *trace_id_from_hex("4bf92f3577b34da6a3ce929d0e0e4736");
  s.id = *span_id_from_hex("00f067aa0ba902b7");
  s.parent = *span_id_from_hex("1111111111111111");
  s.flags = 1;
  s.tracestate = "rojo=1";
  s.name = "tools/call everything__echo";
  s.kind = span_kind::server;
  s.start_unix_nanos = 1700000000000000000ULL;
  s.end_unix_nanos = 1700000000250000000ULL;
  s.set("mcp.method.name", std::string("tools/call"));
  s.set("manifold.retries", std::int64_t{3});
  s.set("manifold.cached", false);
  s.set("manifold.ratio", 0.5);
  s.links.push_back({*parse_traceparent("00-22222222222222222222222222222222-3333333333333333-00")});
  s.error = true;
  s.status_message = "upstream failed";
  return s;
}

TEST(otlp_encoding, golden) {
  std::vector<span> spans{fixed_span()};
  span root;
  root.trace = spans[0].trace;
  root.id = *span_id_from_hex("4444444444444444");
  root.flags = 1;
  root.name = "tools/list";
  root.kind = span_kind::client;
  root.start_unix_nanos = 1;
  root.end_unix_nanos = 2;
  spans.push_back(root);
  const auto encoded = encode_otlp(spans, {.service_name = "manifold", .service_version = "0.1.0"});
  const auto golden = json::parse(R"({
    "resourceSpans": [{
      "resource": {"attributes": [
        {"key": "service.name", "value": {"stringValue": "manifold"}},
        {"key": "service.version", "value": {"stringValue": "0.1.0"}}]},
      "scopeSpans": [{
        "scope": {"name": "manifold", "version": "0.1.0"},
        "spans": [
          {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "00f067aa0ba902b7",
           "parentSpanId": "1111111111111111", "traceState": "rojo=1", "flags": 1,
           "name": "tools/call everything__echo", "kind": 2,
           "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000250000000",
           "attributes": [
             {"key": "mcp.method.name", "value": {"stringValue": "tools/call"}},
             {"key": "manifold.retries", "value": {"intValue": "3"}},
             {"key": "manifold.cached", "value": {"boolValue": false}},
             {"key": "manifold.ratio", "value": {"doubleValue": 0.5}}],
           "links": [{"traceId": "22222222222222222222222222222222", "spanId": "3333333333333333", "flags": 0}],
           "status": {"code": 2, "message": "upstream failed"}},
          {"traceId": "4bf92f3577b34da6a3ce929d0e0e4736", "spanId": "4444444444444444", "flags": 1,
           "name": "tools/list", "kind": 3, "startTimeUnixNano": "1", "endTimeUnixNano": "2",
           "attributes": []}
        ]}]}]})");
  EXPECT_EQ(encoded, golden) << encoded.dump(2);
  // The text the exporter posts is the same document.
  const auto text = encode_otlp_text(spans, {.service_name = "manifold", .service_version = "0.1.0"});
  EXPECT_EQ(json::parse(text), golden) << text;
}

TEST(otlp_encoding, odd_values_stay_valid_json) {
  span s = fixed_span();
  s.set("bad.utf8", std::string("\xff\xfe ok"));
  s.set("nan", std::nan(""));
  const auto text = encode_otlp(std::vector<span>{s}, {}).dump(-1, ' ', false, json::error_handler_t::replace);
  const auto back = json::parse(text);
  const auto& attrs = back["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"];
  EXPECT_EQ(attrs[4]["value"]["stringValue"], "\xEF\xBF\xBD\xEF\xBF\xBD ok");
  EXPECT_EQ(attrs[5]["value"]["doubleValue"], "NaN");
  // The writer: the same replacements, control bytes escaped, doubles exact.
  s.set("control", std::string("a\"b\\c\n\x01"));
  s.set("inf", -std::numeric_limits<double>::infinity());
  s.set("third", 1.0 / 3.0);
  const std::vector<span> spans{s};
  const otlp_resource resource{.service_name = "m\"x", .service_version = "", .instance_id = "42"};
  const auto written = json::parse(encode_otlp_text(spans, resource));
  EXPECT_EQ(written, json::parse(encode_otlp(spans, resource).dump(-1, ' ', false, json::error_handler_t::replace)));
  const auto& w = written["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["attributes"];
  EXPECT_EQ(w[4]["value"]["stringValue"], "\xEF\xBF\xBD\xEF\xBF\xBD ok");
  EXPECT_EQ(w[6]["value"]["stringValue"], "a\"b\\c\n\x01");
  EXPECT_EQ(w[7]["value"]["doubleValue"], "-Infinity");
  EXPECT_EQ(w[8]["value"]["doubleValue"].get<double>(), 1.0 / 3.0);
}

TEST(otlp_endpoint, parses_collector_urls) {
  std::string error;
  auto e = parse_otlp_endpoint("http://127.0.0.1:4318", error);
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->tls);
  EXPECT_EQ(e->host, "127.0.0.1");
  EXPECT_EQ(e->port, "4318");
  EXPECT_EQ(e->target, "/v1/traces");
  e = parse_otlp_endpoint("https://otel.example/custom/traces?x=1", error);
  ASSERT_TRUE(e);
  EXPECT_TRUE(e->tls);
  EXPECT_EQ(e->port, "443");
  EXPECT_EQ(e->target, "/custom/traces?x=1");
  EXPECT_FALSE(parse_otlp_endpoint("grpc://c:4317", error));
  EXPECT_NE(error.find("http"), std::string::npos);
  EXPECT_FALSE(parse_otlp_endpoint("not a url", error));
  EXPECT_THROW(otlp_exporter(asio::io_context().get_executor(), {.endpoint = "ftp://x"}), std::invalid_argument);
}

// A collector stand-in: answers every POST with `status` (or never, when `hold`), and keeps
// what it received.
struct receiver {
  struct request {
    std::string target;
    std::string content_type;
    std::string tenant;
    json body;
  };

  explicit receiver(asio::io_context& io) : acceptor(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)) {
    asio::co_spawn(io, accept_loop(), asio::detached);
  }
  std::string endpoint() const {
    return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + "/v1/traces";
  }
  std::size_t spans() const {
    std::size_t n = 0;
    for (const auto& r : requests) n += r.body["resourceSpans"][0]["scopeSpans"][0]["spans"].size();
    return n;
  }

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
    }
  }

  asio::awaitable<void> serve(tcp::socket socket) {
    beast::tcp_stream stream(std::move(socket));
    beast::flat_buffer buffer;
    stream.expires_after(10s);
    http::request<http::string_body> req;
    auto [rec, n] = co_await http::async_read(stream, buffer, req, asio::as_tuple(asio::use_awaitable));
    if (rec) co_return;
    requests.push_back({std::string(req.target()), std::string(req[http::field::content_type]),
                        std::string(req["X-Tenant"]), json::parse(req.body(), nullptr, false)});
    if (hold) {
      // Never answer: the exporter's deadline must end the post. The read waits (bounded by
      // the stream's expiry) for the client to give up.
      co_await http::async_read(stream, buffer, req, asio::as_tuple(asio::use_awaitable));
      co_return;
    }
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::content_type, "application/json");
    res.body() = "{}";
    res.prepare_payload();
    co_await http::async_write(stream, res, asio::as_tuple(asio::use_awaitable));
  }

  tcp::acceptor acceptor;
  std::vector<request> requests;
  int status = 200;
  bool hold = false;
};

// Runs `io` until `done` or the deadline; false on the deadline.
bool run_until(asio::io_context& io, const std::function<bool()>& done,
               std::chrono::steady_clock::duration limit = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    io.run_one_for(20ms);
  }
  return true;
}

span numbered(int i) {
  span s;
  s.trace = new_trace_id();
  s.id = new_span_id();
  s.flags = 1;
  s.name = "span " + std::to_string(i);
  s.kind = span_kind::server;
  s.start_unix_nanos = 1;
  s.end_unix_nanos = 2;
  return s;
}

TEST(otlp_exporter, posts_full_batches_at_once_and_the_rest_after_the_interval) {
  asio::io_context io;
  receiver r(io);
  metrics m;
  otlp_exporter e(io.get_executor(),
                  {.endpoint = r.endpoint(), .headers = {{"X-Tenant", "acme"}}, .batch_size = 3,
                   .batch_interval = 300ms, .queue_size = 100},
                  &m);
  e.start();
  for (int i = 0; i < 7; ++i) e.export_span(numbered(i));
  ASSERT_TRUE(run_until(io, [&] { return r.spans() == 6; }));
  EXPECT_EQ(r.requests.size(), 2U);
  ASSERT_TRUE(run_until(io, [&] { return r.spans() == 7; }));
  ASSERT_EQ(r.requests.size(), 3U);
  for (const auto& req : r.requests) {
    EXPECT_EQ(req.target, "/v1/traces");
    EXPECT_EQ(req.content_type, "application/json");
    EXPECT_EQ(req.tenant, "acme");
    EXPECT_EQ(req.body["resourceSpans"][0]["resource"]["attributes"][0]["value"]["stringValue"], "manifold");
  }
  EXPECT_EQ(r.requests[0].body["resourceSpans"][0]["scopeSpans"][0]["spans"][0]["name"], "span 0");
  ASSERT_TRUE(run_until(io, [&] { return e.statistics().exported == 7; }));
  EXPECT_NE(m.serialize().find("manifold_trace_spans_exported_total 7"), std::string::npos);
  bool stopped = false;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await e.stop(std::chrono::steady_clock::now() + 2s);
    stopped = true;
  }, asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
}

TEST(otlp_exporter, a_failing_collector_costs_its_batch_and_backs_off) {
  asio::io_context io;
  receiver r(io);
  r.status = 503;
  metrics m;
  otlp_exporter e(io.get_executor(),
                  {.endpoint = r.endpoint(), .batch_size = 2, .batch_interval = 50ms, .queue_size = 4}, &m);
  e.start();
  e.export_span(numbered(0));
  e.export_span(numbered(1));
  ASSERT_TRUE(run_until(io, [&] { return e.statistics().failed_posts == 1; }));
  EXPECT_EQ(e.statistics().dropped_failed, 2U);
  // While it backs off (1 s), spans queue up to queue_size and the rest are dropped.
  for (int i = 0; i < 10; ++i) e.export_span(numbered(i));
  EXPECT_EQ(e.queued(), 4U);
  EXPECT_EQ(e.statistics().dropped_full, 6U);
  EXPECT_EQ(r.requests.size(), 1U);
  const auto text = m.serialize();
  EXPECT_NE(text.find(R"(manifold_trace_spans_dropped_total{reason="export_failed"} 2)"), std::string::npos);
  EXPECT_NE(text.find(R"(manifold_trace_spans_dropped_total{reason="queue_full"} 6)"), std::string::npos);
  // It recovers once the collector does.
  r.status = 200;
  ASSERT_TRUE(run_until(io, [&] { return e.statistics().exported == 4; }));
  EXPECT_EQ(e.statistics().failed_posts, 1U);
}

TEST(otlp_exporter, a_silent_collector_meets_the_deadline) {
  asio::io_context io;
  receiver r(io);
  r.hold = true;
  otlp_exporter e(io.get_executor(),
                  {.endpoint = r.endpoint(), .batch_size = 1, .batch_interval = 50ms, .queue_size = 8,
                   .timeout = 200ms});
  e.start();
  const auto started = std::chrono::steady_clock::now();
  e.export_span(numbered(0));
  ASSERT_TRUE(run_until(io, [&] { return e.statistics().failed_posts == 1; }, 5s));
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  EXPECT_EQ(e.statistics().dropped_failed, 1U);
}

TEST(otlp_exporter, an_unreachable_collector_is_a_failed_post) {
  asio::io_context io;
  std::string endpoint;
  {
    tcp::acceptor closed(io, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));  // free, then closed
    endpoint = "http://127.0.0.1:" + std::to_string(closed.local_endpoint().port());
  }
  otlp_exporter e(io.get_executor(), {.endpoint = endpoint, .batch_size = 1, .timeout = 1s});
  e.start();
  e.export_span(numbered(0));
  ASSERT_TRUE(run_until(io, [&] { return e.statistics().failed_posts == 1; }));
}

TEST(otlp_exporter, stop_flushes_what_is_queued) {
  asio::io_context io;
  receiver r(io);
  otlp_exporter e(io.get_executor(),
                  {.endpoint = r.endpoint(), .batch_size = 100, .batch_interval = 1h, .queue_size = 100});
  e.start();
  e.export_span(numbered(0));
  e.export_span(numbered(1));
  io.poll();
  EXPECT_TRUE(r.requests.empty());  // neither a full batch nor the interval yet
  bool stopped = false;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    co_await e.stop(std::chrono::steady_clock::now() + 2s);
    stopped = true;
  }, asio::detached);
  ASSERT_TRUE(run_until(io, [&] { return stopped; }));
  EXPECT_EQ(r.spans(), 2U);
  e.export_span(numbered(2));  // after stop: dropped
  EXPECT_EQ(e.queued(), 0U);
  EXPECT_EQ(e.statistics().dropped_full, 1U);
}

TEST(otlp_exporter, never_started_queue_is_bounded) {
  asio::io_context io;
  otlp_exporter e(io.get_executor(), {.endpoint = "http://127.0.0.1:9/v1/traces", .batch_size = 4, .queue_size = 4});
  for (int i = 0; i < 1000; ++i) e.export_span(numbered(i));
  EXPECT_EQ(e.queued(), 4U);
  EXPECT_EQ(e.statistics().dropped_full, 996U);
}

}  // namespace
}  // namespace manifold::observe
