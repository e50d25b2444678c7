// The metrics registry: names, labels, cardinality bounds, the text exposition, process
// metrics, and observations that allocate nothing once warm.
#include <gtest/gtest.h>

#include <regex>

#include "alloc_counter.hpp"
#include "manifold/observe/metrics.hpp"
#include "process_collector.hpp"

namespace manifold::observe {
namespace {

using namespace std::chrono_literals;

// The value of the sample line `name{labels} value` (labels exactly as serialized), or -1.
double sample(const std::string& text, const std::string& series) {
  const auto at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + series.size() + 2));
}

TEST(metrics, server_calls_are_histograms_and_counters_by_outcome) {
  metrics m({.version = "1.2.3"});
  m.set_exposed_tools({"everything__echo"});
  m.record_server_call("tools/call", "everything__echo", "everything", call_outcome::ok, 3ms);
  m.record_server_call("tools/call", "everything__echo", "everything", call_outcome::ok, 150ms);
  m.record_server_call("tools/call", "everything__echo", "everything", call_outcome::timeout, 60s);
  const auto text = m.serialize();
  const std::string ok = R"(method="tools/call",outcome="ok",tool="everything__echo",upstream="everything")";
  EXPECT_EQ(sample(text, "mcp_server_operation_duration_seconds_count{" + ok + "}"), 2);
  EXPECT_NEAR(sample(text, "mcp_server_operation_duration_seconds_sum{" + ok + "}"), 0.153, 1e-9);
  EXPECT_EQ(sample(text, "mcp_server_operation_duration_seconds_bucket{" + ok + ",le=\"0.01\"}"), 1);
  EXPECT_EQ(sample(text, "mcp_server_operation_duration_seconds_bucket{" + ok + ",le=\"0.2\"}"), 2);
  EXPECT_EQ(sample(text, "mcp_server_operation_duration_seconds_bucket{" + ok + ",le=\"300\"}"), 2);
  EXPECT_EQ(sample(text, "mcp_server_operation_duration_seconds_bucket{" + ok + ",le=\"+Inf\"}"), 2);
  EXPECT_EQ(sample(text, "manifold_calls_total{" + ok + "}"), 2);
  EXPECT_EQ(sample(text, R"(manifold_calls_total{method="tools/call",outcome="timeout",tool="everything__echo",upstream="everything"})"), 1);
  EXPECT_EQ(sample(text, R"(manifold_call_errors_total{kind="timeout",method="tools/call",tool="everything__echo",upstream="everything"})"), 1);
  EXPECT_EQ(text.find("manifold_call_errors_total{kind=\"ok\""), std::string::npos);
  EXPECT_EQ(sample(text, R"(manifold_build_info{version="1.2.3"})"), 1);
  EXPECT_NE(text.find("# TYPE mcp_server_operation_duration_seconds histogram"), std::string::npos);
}

TEST(metrics, every_outcome_has_a_name) {
  metrics m;
  for (std::size_t i = 0; i < call_outcome_count; ++i) {
    m.record_server_call("tools/call", "", "u", static_cast<call_outcome>(i), 1ms);
  }
  const auto text = m.serialize();
  for (const char* kind : {"jsonrpc_error", "is_error", "timeout", "refused_by_policy", "rate_limited", "cancelled"}) {
    EXPECT_NE(text.find(std::string("manifold_call_errors_total{kind=\"") + kind + "\""), std::string::npos) << kind;
  }
}

TEST(metrics, the_buckets_are_the_otel_ones_in_seconds) {
  metrics m;
  m.record_client_call("tools/call", "", "u", call_outcome::ok, 1ms);
  const auto text = m.serialize();
  std::regex le(R"re(mcp_client_operation_duration_seconds_bucket\{[^}]*le="([^"]+)"\})re");
  std::vector<std::string> bounds;
  for (std::sregex_iterator it(text.begin(), text.end(), le), end; it != end; ++it) bounds.push_back((*it)[1]);
  const std::vector<std::string> expected{"0.01", "0.02", "0.05", "0.1", "0.2", "0.5", "1", "2",
                                          "5",    "10",   "30",   "60",  "120", "300", "+Inf"};
  EXPECT_EQ(bounds, expected);
  EXPECT_EQ(text.find("manifold_calls_total{"), std::string::npos);  // client side: histogram only
}

TEST(metrics, tool_labels_only_for_allowlisted_tools_up_to_the_cap) {
  metrics m({.max_tool_labels = 2});
  m.set_exposed_tools({"a__one", "a__two", "a__three"});
  EXPECT_EQ(m.tool_label("a__one"), "a__one");
  EXPECT_EQ(m.tool_label("a__two"), "a__two");
  EXPECT_EQ(m.tool_label("a__three"), "other");  // past the cap
  EXPECT_EQ(m.tool_label("secret-argument-value"), "other");
  EXPECT_EQ(m.tool_label(""), "");
  m.record_server_call("tools/call", "a__three", "a", call_outcome::ok, 1ms);
  m.record_server_call("tools/call", "made-up", "a", call_outcome::ok, 1ms);
  const auto text = m.serialize();
  EXPECT_EQ(sample(text, R"(manifold_calls_total{method="tools/call",outcome="ok",tool="other",upstream="a"})"), 2);
  EXPECT_EQ(text.find("made-up"), std::string::npos);
  // A new catalog replaces the allowlist.
  m.set_exposed_tools({"a__three"});
  EXPECT_EQ(m.tool_label("a__one"), "other");
  EXPECT_EQ(m.tool_label("a__three"), "a__three");
}

TEST(metrics, unknown_methods_and_too_many_upstreams_fold_into_other) {
  metrics m({.max_upstreams = 2});
  EXPECT_EQ(method_label("tools/call"), "tools/call");
  EXPECT_EQ(method_label("x/made-up"), "other");
  m.record_server_call("x/made-up", "", "u1", call_outcome::jsonrpc_error, 1ms);
  m.record_server_call("tools/list", "", "u2", call_outcome::ok, 1ms);
  m.record_server_call("tools/list", "", "u3", call_outcome::ok, 1ms);
  const auto text = m.serialize();
  EXPECT_EQ(text.find("x/made-up"), std::string::npos);
  EXPECT_EQ(sample(text, R"(manifold_calls_total{method="other",outcome="jsonrpc_error",tool="",upstream="u1"})"), 1);
  EXPECT_EQ(sample(text, R"(manifold_calls_total{method="tools/list",outcome="ok",tool="",upstream="other"})"), 1);
}

TEST(metrics, label_sets_are_capped) {
  metrics m({.max_upstreams = 1000, .max_label_sets = 10});
  std::vector<std::string> names;
  for (int i = 0; i < 50; ++i) names.push_back("t" + std::to_string(i));
  m.set_exposed_tools(names);
  for (const auto& n : names) m.record_server_call("tools/call", n, "u", call_outcome::ok, 1ms);
  const auto text = m.serialize();
  std::size_t series = 0;
  for (auto at = text.find("\nmanifold_calls_total{"); at != std::string::npos;
       at = text.find("\nmanifold_calls_total{", at + 1)) {
    ++series;
  }
  EXPECT_EQ(series, 11U);  // ten, then one shared overflow series
  EXPECT_EQ(sample(text, R"(manifold_calls_total{method="tools/call",outcome="ok",tool="other",upstream="other"})"), 40);
}

TEST(metrics, cached_series_are_stable_and_observing_allocates_nothing) {
  metrics m;
  m.set_exposed_tools({"everything__echo"});
  auto& a = m.server_call("tools/call", "everything__echo", "everything");
  auto& b = m.server_call("tools/call", "everything__echo", "everything");
  EXPECT_EQ(&a, &b);
  m.record_server_call("tools/call", "everything__echo", "everything", call_outcome::ok, 1ms);
  m.record_client_call("tools/call", "everything__echo", "everything", call_outcome::ok, 1ms);
  auto& up = m.upstream("everything");
  up.call_started();
  up.call_finished();
  test::allocations = 0;
  test::counting = true;
  for (int i = 0; i < 1000; ++i) {
    m.record_server_call("tools/call", "everything__echo", "everything", call_outcome::ok, 1ms);
    m.record_client_call("tools/call", "everything__echo", "everything", call_outcome::ok, 1ms);
    up.call_started();
    up.call_finished();
  }
  test::counting = false;
  EXPECT_EQ(test::allocations.load(), 0U);
}

TEST(metrics, upstream_state_is_one_hot) {
  metrics m;
  auto& u = m.upstream("docs");
  u.set_state("starting");
  u.set_state("ready");
  u.restarted();
  u.bytes_received(100);
  u.bytes_sent(40);
  u.health_probe(20ms);
  u.call_started();
  const auto text = m.serialize();
  EXPECT_EQ(sample(text, R"(manifold_upstream_state{state="ready",upstream="docs"})"), 1);
  EXPECT_EQ(sample(text, R"(manifold_upstream_state{state="starting",upstream="docs"})"), 0);
  EXPECT_EQ(sample(text, R"(manifold_upstream_state{state="failed",upstream="docs"})"), 0);
  EXPECT_EQ(sample(text, R"(manifold_upstream_restarts_total{upstream="docs"})"), 1);
  EXPECT_EQ(sample(text, R"(manifold_upstream_received_bytes_total{upstream="docs"})"), 100);
  EXPECT_EQ(sample(text, R"(manifold_upstream_sent_bytes_total{upstream="docs"})"), 40);
  EXPECT_EQ(sample(text, R"(manifold_upstream_in_flight{upstream="docs"})"), 1);
  EXPECT_EQ(sample(text, R"(manifold_upstream_health_probe_duration_seconds_count{upstream="docs"})"), 1);
  u.set_state("exploded");
  EXPECT_EQ(sample(m.serialize(), R"(manifold_upstream_state{state="ready",upstream="docs"})"), 0);
  // What the status page reads back.
  EXPECT_EQ(u.restarts(), 1U);
  EXPECT_EQ(u.in_flight(), 1U);
  u.call_finished();
  EXPECT_EQ(u.in_flight(), 0U);
}

TEST(metrics, listener_and_catalog) {
  metrics m;
  m.session_opened(transport::streamable_http);
  m.session_opened(transport::streamable_http);
  m.session_opened(transport::stdio);
  m.session_closed(transport::streamable_http, 90s);
  m.http_response(200);
  m.http_response(200);
  m.http_response(404);
  m.http_response(42);  // not a status: ignored
  m.sse_stream_opened(transport::streamable_http);
  m.sse_stream_opened(transport::sse);
  m.sse_stream_closed(transport::sse);
  m.sse_stream_opened(transport::websocket);  // no SSE there: ignored
  m.catalog_rebuilt({.tools = 12, .prompts = 3, .resources = 4, .resource_templates = 1,
                     .hidden_by_policy = 2, .collisions = 1});
  m.catalog_rebuilt({.tools = 11, .prompts = 3, .resources = 4, .resource_templates = 1,
                     .hidden_by_policy = 2, .collisions = 0});
  m.spans_exported(5);
  m.spans_dropped("queue_full", 2);
  m.tap_records_lost(7);
  const auto text = m.serialize();
  EXPECT_EQ(sample(text, R"(manifold_sessions_open{transport="streamable_http"})"), 1);
  EXPECT_EQ(sample(text, R"(manifold_sessions_total{transport="streamable_http"})"), 2);
  EXPECT_EQ(sample(text, R"(manifold_sessions_open{transport="stdio"})"), 1);
  EXPECT_EQ(sample(text, R"(manifold_sessions_open{transport="websocket"})"), 0);
  EXPECT_EQ(sample(text, R"(mcp_server_session_duration_seconds_count{transport="streamable_http"})"), 1);
  EXPECT_EQ(sample(text, R"(manifold_http_responses_total{class="2xx",code="200"})"), 2);
  EXPECT_EQ(sample(text, R"(manifold_http_responses_total{class="4xx",code="404"})"), 1);
  EXPECT_EQ(sample(text, R"(manifold_sse_streams_open{transport="streamable_http"})"), 1);
  EXPECT_EQ(sample(text, R"(manifold_sse_streams_open{transport="sse"})"), 0);
  EXPECT_EQ(sample(text, R"(manifold_catalog_entries{kind="tool"})"), 11);
  EXPECT_EQ(sample(text, R"(manifold_catalog_entries{kind="resource_template"})"), 1);
  EXPECT_EQ(sample(text, "manifold_catalog_hidden"), 2);
  EXPECT_EQ(sample(text, "manifold_catalog_collisions"), 0);
  EXPECT_EQ(sample(text, "manifold_catalog_rebuilds_total"), 2);
  EXPECT_EQ(sample(text, "manifold_trace_spans_exported_total"), 5);
  EXPECT_EQ(sample(text, R"(manifold_trace_spans_dropped_total{reason="queue_full"})"), 2);
  EXPECT_EQ(sample(text, "manifold_tap_records_lost_total"), 7);
}

TEST(metrics, process_metrics_are_read_at_scrape_time) {
  metrics m;
  const auto text = m.serialize();
  EXPECT_GT(sample(text, "process_resident_memory_bytes"), 0);
  EXPECT_GT(sample(text, "process_virtual_memory_bytes"), 0);
  EXPECT_GE(sample(text, "process_cpu_seconds_total"), 0);
  EXPECT_GE(sample(text, "process_open_fds"), 3);
  EXPECT_GT(sample(text, "process_max_fds"), 0);
  const auto start = sample(text, "process_start_time_seconds");
  const auto now = static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                                           std::chrono::system_clock::now().time_since_epoch())
                                           .count());
  EXPECT_GT(start, now - 24 * 3600);
  EXPECT_LE(start, now + 1);
  EXPECT_NE(text.find("# TYPE process_cpu_seconds_total counter"), std::string::npos);
  metrics quiet({.process_metrics = false});
  EXPECT_EQ(quiet.serialize().find("process_"), std::string::npos);
}

TEST(metrics, proc_stat_parsing) {
  // The command name holds spaces and a ')': fields are counted from the last ')'.
  const std::string stat =
      "4242 (we ird) name) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 3 0 12345 "
      "104857600 2560 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0\n";
  const auto s = parse_proc_stat(stat, 100, 4096, 1'700'000'000);
  ASSERT_TRUE(s);
  EXPECT_DOUBLE_EQ(s->cpu_seconds, 3.0);
  EXPECT_DOUBLE_EQ(s->virtual_bytes, 104857600);
  EXPECT_DOUBLE_EQ(s->resident_bytes, 2560.0 * 4096);
  EXPECT_DOUBLE_EQ(s->start_time_seconds, 1'700'000'000 + 123.45);
  EXPECT_FALSE(parse_proc_stat("4242 (x) S 1 2", 100, 4096, 0));
  EXPECT_FALSE(parse_proc_stat("no parenthesis", 100, 4096, 0));
  EXPECT_FALSE(parse_proc_stat(stat, 0, 4096, 0));
}

}  // namespace
}  // namespace manifold::observe
