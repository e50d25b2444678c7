// W3C trace context, propagation through `_meta` and headers, sampling, and the MCP spans.
#include <gtest/gtest.h>

#include <set>

#include "manifold/observe/span.hpp"
#include "manifold/observe/trace.hpp"

namespace manifold::observe {
namespace {

using json = nlohmann::json;

const std::string example = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(traceparent, parses_and_formats) {
  const auto c = parse_traceparent(example);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->trace.hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_EQ(c->span.hex(), "00f067aa0ba902b7");
  EXPECT_TRUE(c->sampled());
  EXPECT_EQ(format_traceparent(*c), example);
  const auto unsampled = parse_traceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
  ASSERT_TRUE(unsampled);
  EXPECT_FALSE(unsampled->sampled());
}

TEST(traceparent, is_strict) {
  const char* bad[] = {
      "",
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",             // no flags
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",    // longer
      "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",          // another version
      "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",          // forbidden version
      "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",          // uppercase
      "00-00000000000000000000000000000000-00f067aa0ba902b7-01",          // zero trace id
      "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",          // zero parent id
      "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",          // not hex
      "00_4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7_01",          // separators
      "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0x",          // flags not hex
      "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01",          // misplaced dash
  };
  for (const char* value : bad) EXPECT_FALSE(parse_traceparent(value)) << value;
}

TEST(tracestate, keeps_valid_lists_and_drops_invalid_ones) {
  EXPECT_EQ(checked_tracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"),
            "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
  EXPECT_EQ(checked_tracestate(" rojo=1 ,\tcongo=2 ,,"), "rojo=1,congo=2");
  EXPECT_EQ(checked_tracestate("tenant1@vendor=x,a*b/c_d-e=y"), "tenant1@vendor=x,a*b/c_d-e=y");
  EXPECT_EQ(checked_tracestate(""), "");
  EXPECT_EQ(checked_tracestate("Rojo=1"), "");          // uppercase key
  EXPECT_EQ(checked_tracestate("rojo=1,rojo=2"), "");   // duplicate key
  EXPECT_EQ(checked_tracestate("rojo"), "");            // no value
  EXPECT_EQ(checked_tracestate("rojo=a=b"), "");        // '=' in a value
  EXPECT_EQ(checked_tracestate("rojo=\x01"), "");       // control byte
  EXPECT_EQ(checked_tracestate("t@toolongsystemid=1"), "");
  std::string many;
  for (int i = 0; i < 33; ++i) many += (i ? ",k" : "k") + std::to_string(i) + "=v";
  EXPECT_EQ(checked_tracestate(many), "");
  EXPECT_EQ(checked_tracestate("k=" + std::string(600, 'v')), "");
}

TEST(ids, are_random_valid_and_distinct) {
  std::set<std::string> traces;
  std::set<std::string> spans;
  for (int i = 0; i < 1000; ++i) {
    const auto t = new_trace_id();
    const auto s = new_span_id();
    ASSERT_TRUE(t.valid());
    ASSERT_TRUE(s.valid());
    traces.insert(t.hex());
    spans.insert(s.hex());
  }
  EXPECT_EQ(traces.size(), 1000U);
  EXPECT_EQ(spans.size(), 1000U);
  EXPECT_TRUE(trace_id_from_hex("4bf92f3577b34da6a3ce929d0e0e4736"));
  EXPECT_FALSE(trace_id_from_hex(std::string(32, '0')));
  EXPECT_FALSE(span_id_from_hex("00f067aa0ba902b"));
}

TEST(propagation, reads_meta_first_then_headers) {
  json params{{"name", "echo"}, {"_meta", {{"traceparent", example}, {"tracestate", "a=1"}}}};
  auto c = context_from_meta(params);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->tracestate, "a=1");
  const std::string other = "00-11111111111111111111111111111111-2222222222222222-00";
  c = extract_context(params, other, "");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->trace.hex(), "4bf92f3577b34da6a3ce929d0e0e4736");
  c = extract_context(json{{"name", "echo"}}, other, "b=2");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->trace.hex(), "11111111111111111111111111111111");
  EXPECT_EQ(c->tracestate, "b=2");
  EXPECT_FALSE(extract_context(json{{"name", "echo"}}));
}

TEST(propagation, wrong_types_are_no_context) {
  EXPECT_FALSE(context_from_meta(json{{"_meta", {{"traceparent", 42}}}}));
  EXPECT_FALSE(context_from_meta(json{{"_meta", "00-..."}}));
  EXPECT_FALSE(context_from_meta(json::array({1, 2})));
  EXPECT_FALSE(context_from_meta(json()));
  EXPECT_FALSE(context_from_meta(json{{"_meta", {{"traceparent", "garbage"}}}}));
  // A bad tracestate is dropped, the traceparent holds.
  const auto c = context_from_meta(json{{"_meta", {{"traceparent", example}, {"tracestate", 7}}}});
  ASSERT_TRUE(c);
  EXPECT_EQ(c->tracestate, "");
}

TEST(propagation, injects_into_meta_and_headers) {
  const auto ctx = *parse_traceparent(example);
  json params{{"name", "echo"}, {"_meta", {{"progressToken", 7}, {"traceparent", "host's"}, {"tracestate", "old=1"}}}};
  ASSERT_TRUE(inject_meta(params, ctx));
  EXPECT_EQ(params["_meta"]["traceparent"], example);
  EXPECT_FALSE(params["_meta"].contains("tracestate"));
  EXPECT_EQ(params["_meta"]["progressToken"], 7);
  json none;
  auto with_state = ctx;
  with_state.tracestate = "rojo=1";
  ASSERT_TRUE(inject_meta(none, with_state));
  EXPECT_EQ(none, (json{{"_meta", {{"traceparent", example}, {"tracestate", "rojo=1"}}}}));
  json array = json::array();
  EXPECT_FALSE(inject_meta(array, ctx));
  json odd_meta{{"_meta", "x"}};
  EXPECT_FALSE(inject_meta(odd_meta, ctx));
  EXPECT_EQ(odd_meta["_meta"], "x");
  const auto headers = trace_headers(with_state);
  ASSERT_EQ(headers.size(), 2U);
  EXPECT_EQ(headers[0], (std::pair<std::string, std::string>{"traceparent", example}));
  EXPECT_EQ(headers[1], (std::pair<std::string, std::string>{"tracestate", "rojo=1"}));
}

trace_id with_low(std::uint64_t low) {
  trace_id t;
  t.bytes[0] = 1;
  for (int i = 15; i >= 8; --i) {
    t.bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(low & 0xFFU);
    low >>= 8U;
  }
  return t;
}

TEST(sampler, ratio_on_the_trace_id_and_parent_based) {
  const sampler all(1.0);
  const sampler none(0.0);
  const sampler half(0.5);
  EXPECT_TRUE(all.sample(with_low(~0ULL), nullptr));
  EXPECT_FALSE(none.sample(with_low(0), nullptr));
  EXPECT_TRUE(half.sample(with_low(0x7FFFFFFFFFFFFFFFULL), nullptr));
  EXPECT_FALSE(half.sample(with_low(0x8000000000000000ULL), nullptr));
  span_context sampled_parent = *parse_traceparent(example);
  span_context unsampled_parent = sampled_parent;
  unsampled_parent.flags = 0;
  EXPECT_TRUE(none.sample(with_low(~0ULL), &sampled_parent));
  EXPECT_FALSE(all.sample(with_low(0), &unsampled_parent));
  EXPECT_EQ(sampler(7.0).ratio(), 1.0);
  EXPECT_EQ(sampler(-1.0).ratio(), 0.0);
  int yes = 0;
  const sampler tenth(0.1);
  for (int i = 0; i < 20000; ++i) yes += tenth.sample(new_trace_id(), nullptr) ? 1 : 0;
  EXPECT_NEAR(yes / 20000.0, 0.1, 0.02);
}

struct collecting_sink final : span_sink {
  std::vector<span> spans;
  void export_span(span&& s) override { spans.push_back(std::move(s)); }
};

TEST(spans, server_and_client_follow_the_conventions) {
  collecting_sink sink;
  const tracer t(1.0, &sink);
  const json id = 7;
  const mcp_request_info host{.method = "tools/call",
                              .tool = "everything__echo",
                              .request_id = &id,
                              .session_id = "sess-1",
                              .protocol_version = "2025-06-18",
                              .network_transport = "tcp",
                              .network_protocol = "http",
                              .network_protocol_version = "1.1"};
  const auto parent = parse_traceparent(example);
  auto server = t.start_server(host, parent);
  EXPECT_EQ(server.trace, parent->trace);
  EXPECT_EQ(server.parent, parent->span);
  EXPECT_NE(server.id, parent->span);
  EXPECT_EQ(server.kind, span_kind::server);
  EXPECT_EQ(server.name, "tools/call everything__echo");
  EXPECT_GT(server.start_unix_nanos, 0U);
  EXPECT_EQ(std::get<std::string>(*server.find("mcp.method.name")), "tools/call");
  EXPECT_EQ(std::get<std::string>(*server.find("gen_ai.tool.name")), "everything__echo");
  EXPECT_EQ(std::get<std::string>(*server.find("gen_ai.operation.name")), "execute_tool");
  EXPECT_EQ(std::get<std::string>(*server.find("jsonrpc.request.id")), "7");
  EXPECT_EQ(std::get<std::string>(*server.find("mcp.session.id")), "sess-1");
  EXPECT_EQ(std::get<std::string>(*server.find("mcp.protocol.version")), "2025-06-18");
  EXPECT_EQ(std::get<std::string>(*server.find("network.transport")), "tcp");
  EXPECT_EQ(server.find("gen_ai.prompt.name"), nullptr);

  const json upstream_id = "m-12";
  const mcp_request_info up{.method = "tools/call", .tool = "echo", .request_id = &upstream_id,
                            .network_transport = "pipe", .upstream = "everything"};
  auto client = t.start_client(up, server);
  EXPECT_EQ(client.trace, server.trace);
  EXPECT_EQ(client.parent, server.id);
  EXPECT_EQ(client.kind, span_kind::client);
  EXPECT_EQ(client.name, "tools/call echo");
  EXPECT_EQ(std::get<std::string>(*client.find("jsonrpc.request.id")), "m-12");
  EXPECT_EQ(std::get<std::string>(*client.find("manifold.upstream")), "everything");
  // What the upstream request carries: the client span as its parent.
  json params{{"name", "echo"}};
  inject_meta(params, client.context());
  const auto seen = context_from_meta(params);
  ASSERT_TRUE(seen);
  EXPECT_EQ(seen->span, client.id);
  EXPECT_TRUE(seen->sampled());

  set_tool_error(client);
  set_jsonrpc_error(server, -32603, "upstream failed");
  t.finish(std::move(client));
  t.finish(std::move(server));
  ASSERT_EQ(sink.spans.size(), 2U);
  EXPECT_TRUE(sink.spans[0].error);
  EXPECT_EQ(std::get<std::string>(*sink.spans[0].find("error.type")), "tool_error");
  EXPECT_EQ(std::get<std::string>(*sink.spans[1].find("error.type")), "-32603");
  EXPECT_EQ(std::get<std::string>(*sink.spans[1].find("rpc.response.status_code")), "-32603");
  EXPECT_EQ(sink.spans[1].status_message, "upstream failed");
  EXPECT_GE(sink.spans[1].end_unix_nanos, sink.spans[1].start_unix_nanos);
}

TEST(spans, new_traces_links_and_names) {
  collecting_sink sink;
  const tracer t(1.0, &sink);
  const auto transport = parse_traceparent("00-11111111111111111111111111111111-2222222222222222-01");
  auto root = t.start_server({.method = "tools/list"}, std::nullopt, transport);
  EXPECT_TRUE(root.trace.valid());
  EXPECT_FALSE(root.parent.valid());
  EXPECT_EQ(root.name, "tools/list");
  ASSERT_EQ(root.links.size(), 1U);
  EXPECT_EQ(root.links[0].context.span, transport->span);
  EXPECT_EQ(span_name({.method = "prompts/get", .prompt = "review"}), "prompts/get review");
  EXPECT_FALSE(request_id_text(nullptr));
  const json null_id;
  EXPECT_FALSE(request_id_text(&null_id));
  const json number_id = 12345678901LL;
  EXPECT_EQ(request_id_text(&number_id), "12345678901");
}

TEST(spans, unsampled_ones_propagate_but_are_not_exported) {
  collecting_sink sink;
  const tracer t(0.0, &sink);
  auto server = t.start_server({.method = "tools/call", .tool = "x"}, std::nullopt);
  EXPECT_TRUE(server.trace.valid());
  EXPECT_TRUE(server.id.valid());
  EXPECT_FALSE(server.sampled());
  EXPECT_TRUE(server.name.empty());
  EXPECT_TRUE(server.attributes.empty());
  auto client = t.start_client({.method = "tools/call", .tool = "x"}, server);
  EXPECT_EQ(client.trace, server.trace);
  EXPECT_FALSE(client.sampled());
  EXPECT_EQ(format_traceparent(client.context()).substr(53), "00");
  set_jsonrpc_error(client, -1, "x");
  EXPECT_TRUE(client.attributes.empty());
  t.finish(std::move(client));
  t.finish(std::move(server));
  EXPECT_TRUE(sink.spans.empty());
  // A sampled parent wins over ratio 0.
  auto followed = t.start_server({.method = "ping"}, parse_traceparent(example));
  EXPECT_TRUE(followed.sampled());
}

}  // namespace
}  // namespace manifold::observe
