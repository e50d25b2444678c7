// What one host request leaves behind (proxy/src/call_observer.hpp), without sockets: the
// outcome it is counted under, its SERVER span and the CLIENT span of its upstream request
// (whose traceparent the upstream receives), and its entry among the recent calls.
#include <gtest/gtest.h>

#include <vector>

#include "call_observer.hpp"
#include "manifold/observe/trace.hpp"
#include "manifold/protocol/error_codes.hpp"

namespace manifold::proxy {
namespace {

using protocol::json;

struct collecting_sink final : observe::span_sink {
  void export_span(observe::span&& s) override { spans.push_back(std::move(s)); }
  std::vector<observe::span> spans;
};

// Telemetry with every part on, and the parts to look at.
struct fixture {
  observe::metrics metrics{observe::metrics_options{.process_metrics = false}};
  collecting_sink sink;
  observe::tracer tracer{1.0, &sink};
  observe::recent_calls calls{10};
  observe::telemetry telemetry{&metrics, &tracer, nullptr, &calls, nullptr};

  fixture() { metrics.set_exposed_tools({"k8s__get_pods"}); }

  static protocol::message request(json params, json id = 7) {
    auto parsed = protocol::parse_message(protocol::serialize(protocol::make_request(id, "tools/call", std::move(params))));
    return std::move(*parsed.msg);
  }
  [[nodiscard]] double count(std::string_view name, const std::string& labels) const {
    const auto text = metrics.serialize();
    const auto at = text.find(std::string(name) + "{" + labels + "}");
    if (at == std::string::npos) return 0;
    const auto space = text.find(' ', at);
    return std::stod(text.substr(space + 1, text.find('\n', space) - space - 1));
  }
};

constexpr const char* host_parent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";

TEST(call_observer, a_call_continues_the_hosts_trace_into_the_upstream_and_is_counted_on_both_sides) {
  fixture f;
  const auto msg = fixture::request({{"name", "k8s__get_pods"}, {"_meta", {{"traceparent", host_parent}}}});
  const request_origin origin{"session-1", {"session-1", "tcp"}, "2025-11-25"};
  call_observer observer(&f.telemetry, msg, origin);
  ASSERT_TRUE(observer.on());
  EXPECT_EQ(observer.trace_id(), "0af7651916cd43dd8448eb211c80319c");

  json upstream_params{{"name", "get_pods"}};
  auto call = observer.upstream_started("k8s", "tools/call", upstream_params);
  const auto sent = observe::context_from_meta(upstream_params);
  ASSERT_TRUE(sent.has_value());
  EXPECT_EQ(sent->trace.hex(), "0af7651916cd43dd8448eb211c80319c");
  EXPECT_TRUE(sent->sampled());
  observer.upstream_finished(call, "tools/call", protocol::rpc_reply{json{{"content", json::array()}}, std::nullopt});
  const json result{{"content", json::array()}};
  observer.finished(nullptr, &result, false, "alice");

  ASSERT_EQ(f.sink.spans.size(), 2U);
  const auto& client = f.sink.spans[0];
  const auto& server = f.sink.spans[1];
  EXPECT_EQ(server.kind, observe::span_kind::server);
  EXPECT_EQ(server.parent.hex(), "b7ad6b7169203331");
  EXPECT_EQ(server.name, "tools/call k8s__get_pods");
  EXPECT_EQ(std::get<std::string>(*server.find("mcp.session.id")), "session-1");
  EXPECT_EQ(std::get<std::string>(*server.find("mcp.protocol.version")), "2025-11-25");
  EXPECT_EQ(std::get<std::string>(*server.find("network.transport")), "tcp");
  EXPECT_EQ(std::get<std::string>(*server.find("jsonrpc.request.id")), "7");
  EXPECT_EQ(std::get<std::string>(*server.find("manifold.upstream")), "k8s");
  EXPECT_FALSE(server.error);
  EXPECT_EQ(client.kind, observe::span_kind::client);
  EXPECT_EQ(client.parent, server.id);
  EXPECT_EQ(client.id, sent->span);  // the upstream's parent is the CLIENT span
  EXPECT_EQ(std::get<std::string>(*client.find("gen_ai.tool.name")), "get_pods");

  EXPECT_EQ(f.count("manifold_calls_total", R"(method="tools/call",outcome="ok",tool="k8s__get_pods",upstream="k8s")"), 1);
  EXPECT_EQ(f.count("mcp_client_operation_duration_seconds_count",
                    R"(method="tools/call",outcome="ok",tool="k8s__get_pods",upstream="k8s")"), 1);
  EXPECT_EQ(f.count("manifold_upstream_in_flight", R"(upstream="k8s")"), 0);
  const auto recent = f.calls.newest_first();
  ASSERT_EQ(recent.size(), 1U);
  EXPECT_EQ(recent[0].principal, "alice");
  EXPECT_EQ(recent[0].tool, "k8s__get_pods");
  EXPECT_EQ(recent[0].upstream, "k8s");
  EXPECT_EQ(recent[0].trace_id, "0af7651916cd43dd8448eb211c80319c");
}

TEST(call_observer, each_ending_is_counted_under_its_outcome) {
  struct ending {
    std::optional<protocol::rpc_error> error;
    json result;
    bool cancelled;
    std::optional<access::audit_outcome> refusal;
    const char* outcome;
    const char* error_type;
  };
  const std::vector<ending> endings{
      {std::nullopt, json{{"content", json::array()}}, false, std::nullopt, "ok", nullptr},
      {std::nullopt, json{{"isError", true}, {"content", json::array({{{"type", "text"}, {"text", "boom"}}})}}, false,
       std::nullopt, "is_error", "tool_error"},
      {protocol::rpc_error{-32099, "upstream says no", std::nullopt}, nullptr, false, std::nullopt, "jsonrpc_error",
       "-32099"},
      {protocol::rpc_error{protocol::error_code::request_timeout, "too slow", std::nullopt}, nullptr, false,
       std::nullopt, "timeout", "timeout"},
      {std::nullopt, nullptr, true, std::nullopt, "cancelled", "cancelled"},
      {std::nullopt, json{{"isError", true}, {"content", json::array()}}, false, access::audit_outcome::refused,
       "refused_by_policy", "tool_error"},
      {protocol::rpc_error{-32029, "slow down", std::nullopt}, nullptr, false, access::audit_outcome::rate_limited,
       "rate_limited", "-32029"},
  };
  for (const auto& e : endings) {
    fixture f;
    const auto msg = fixture::request({{"name", "k8s__get_pods"}});
    call_observer observer(&f.telemetry, msg, request_origin{"1", {}, "2025-11-25"});
    observer.target("k8s");
    if (e.refusal) observer.refused(*e.refusal);
    observer.finished(e.error ? &*e.error : nullptr, e.result.is_null() ? nullptr : &e.result, e.cancelled, "bob");
    EXPECT_EQ(f.count("manifold_calls_total",
                      std::string(R"(method="tools/call",outcome=")") + e.outcome + R"(",tool="k8s__get_pods",upstream="k8s")"),
              1)
        << e.outcome;
    ASSERT_EQ(f.sink.spans.size(), 1U);
    const auto& span = f.sink.spans[0];
    EXPECT_EQ(span.parent, observe::span_id{}) << "no context: a new trace";
    if (e.error_type == nullptr) {
      EXPECT_FALSE(span.error);
    } else {
      EXPECT_TRUE(span.error) << e.outcome;
      EXPECT_EQ(std::get<std::string>(*span.find("error.type")), e.error_type) << e.outcome;
    }
    const auto recent = f.calls.newest_first();
    ASSERT_EQ(recent.size(), 1U);
    EXPECT_EQ(observe::to_string(recent[0].outcome), e.outcome);
    EXPECT_EQ(f.calls.failed(), std::string_view(e.outcome) == "ok" ? 0U : 1U);
  }
}

TEST(call_observer, a_tool_outside_the_label_allowlist_is_counted_as_other) {
  fixture f;
  const auto msg = fixture::request({{"name", "whatever the host typed"}});
  call_observer observer(&f.telemetry, msg, request_origin{"1", {}, ""});
  const protocol::rpc_error unknown{-32602, "Unknown tool", std::nullopt};
  observer.finished(&unknown, nullptr, false, "");
  EXPECT_EQ(f.count("manifold_calls_total", R"(method="tools/call",outcome="jsonrpc_error",tool="other",upstream="")"), 1);
  EXPECT_EQ(f.metrics.serialize().find("whatever"), std::string::npos);
}

TEST(call_observer, without_telemetry_nothing_is_recorded_and_params_stay_as_they_were) {
  const auto msg = fixture::request({{"name", "k8s__get_pods"}});
  call_observer off(nullptr, msg, request_origin{"1", {}, ""});
  EXPECT_FALSE(off.on());
  json params{{"name", "get_pods"}, {"_meta", {{"traceparent", host_parent}}}};
  const auto before = params;
  auto call = off.upstream_started("k8s", "tools/call", params);
  off.upstream_finished(call, "tools/call", protocol::rpc_reply{json::object(), std::nullopt});
  off.finished(nullptr, nullptr, false, "");
  EXPECT_EQ(params, before) << "the host's own context passes through untouched";
}

TEST(call_observer, an_unsampled_host_trace_is_not_exported_but_its_flag_travels_on) {
  fixture f;
  const auto msg = fixture::request(
      {{"name", "k8s__get_pods"}, {"_meta", {{"traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"}}}});
  call_observer observer(&f.telemetry, msg, request_origin{"1", {}, ""});
  json params{{"name", "get_pods"}};
  auto call = observer.upstream_started("k8s", "tools/call", params);
  const auto sent = observe::context_from_meta(params);
  ASSERT_TRUE(sent.has_value());
  EXPECT_FALSE(sent->sampled());
  EXPECT_EQ(sent->trace.hex(), "0af7651916cd43dd8448eb211c80319c");
  observer.upstream_finished(call, "tools/call", protocol::rpc_reply{json::object(), std::nullopt});
  observer.finished(nullptr, nullptr, false, "");
  EXPECT_TRUE(f.sink.spans.empty());
  EXPECT_EQ(observer.trace_id(), "");
}

}  // namespace
}  // namespace manifold::proxy
