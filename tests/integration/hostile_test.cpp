// Hostile input over stdio, from the host and from an upstream (the hardening issue, items
// numbered as there): each case gets the right error, is logged, and the session and the
// upstream keep working afterwards.
#include "serve_fixture.hpp"

namespace manifold::test {
namespace {

using hostile_test = serve_fixture;

std::string nested_object(std::size_t depth) {
  std::string out;
  for (std::size_t i = 0; i < depth; ++i) out += "{\"a\":";
  out += "1";
  out.append(depth, '}');
  return out;
}

json emit(host_process& h, const std::string& tool, std::vector<std::string> lines, bool answer = true) {
  return h.request("tools/call",
                   {{"name", tool}, {"arguments", {{"lines", std::move(lines)}, {"answer", answer}}}},
                   30s);
}

// The session still answers, and the upstream still serves.
void still_works(host_process& h, const std::string& tool = "alpha__echo") {
  EXPECT_EQ(h.request("ping")["result"], json::object());
  const auto reply = h.request("tools/call", {{"name", tool}, {"arguments", {{"text", "alive"}}}});
  EXPECT_EQ(reply["result"]["content"][0]["text"], "alive") << reply.dump();
}

// 1. A host message nested 85,000 levels deep (400 KB, under the size limit).
TEST_F(hostile_test, host_message_nested_85000_levels_is_refused_with_a_parse_error) {
  auto& h = start({{"alpha"}});
  h.initialize();
  const auto deep = nested_object(85'000);
  h.send_raw(R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"alpha__echo","arguments":)" +
             deep + "}}");
  const auto reply = h.read(10s);
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["error"]["code"], -32700);
  EXPECT_NE((*reply)["error"]["message"].get<std::string>().find("nested deeper than 512"),
            std::string::npos);
  // The same as a response to nothing, and as a notification.
  h.send_raw(R"({"jsonrpc":"2.0","id":8,"result":)" + deep + "}");
  h.send_raw(R"({"jsonrpc":"2.0","method":"notifications/progress","params":)" + deep + "}");
  EXPECT_EQ((*h.read(10s))["error"]["code"], -32700);
  EXPECT_EQ((*h.read(10s))["error"]["code"], -32700);
  still_works(h);
}

// 2. The same from an upstream: a tool result, a log notification, a stray response, a
// request (sampling), and a tools/list whose inputSchema nests 30,000 levels.
TEST_F(hostile_test, upstream_messages_nested_too_deep_are_dropped_and_their_calls_fail_at_once) {
  auto& h = start({{"alpha", {}, "    timeout: 1h\n"}, {"beta", {"--deep-schema", "30000"}}});
  h.initialize({"2025-11-25"}, {{"sampling", json::object()}});
  // A deep result fails its call at once (the deadline is an hour).
  const auto result = emit(h, "alpha__emit", {R"({"jsonrpc":"2.0","id":$ID,"result":$DEEP})"}, false);
  EXPECT_EQ(result["error"]["code"], -32005);
  EXPECT_NE(result["error"]["message"].get<std::string>().find("nested deeper"), std::string::npos);
  // A deep notification, a stray deep response and a deep request are dropped (the request
  // is refused to the upstream); the call that carried them still answers.
  const auto others = emit(h, "alpha__emit",
                           {R"({"jsonrpc":"2.0","method":"notifications/message","params":{"level":"info","data":$DEEP}})",
                            R"({"jsonrpc":"2.0","id":424242,"result":$DEEP})",
                            R"({"jsonrpc":"2.0","id":"s1","method":"sampling/createMessage","params":$DEEP})"});
  EXPECT_EQ(others["result"]["content"][0]["text"], "emitted") << others.dump();
  // beta's tools/list was unreadable: beta's tools are left out, alpha's are served.
  const auto list = h.request("tools/list");
  for (const auto& t : list["result"]["tools"]) EXPECT_EQ(t["name"].get<std::string>().rfind("beta__", 0), std::string::npos);
  EXPECT_FALSE(list["result"]["tools"].empty());
  EXPECT_TRUE(h.wait_for_stderr("[beta] tools/list failed", 10s));
  still_works(h);
}

// 3. An upstream notification with a wrongly typed field.
TEST_F(hostile_test, wrongly_typed_upstream_notifications_never_deafen_the_upstream) {
  auto& h = start({{"alpha", {}, "    timeout: 1h\n"}});
  h.initialize();
  h.request("logging/setLevel", {{"level", "debug"}});
  const auto r = emit(h, "alpha__emit",
                      {R"({"jsonrpc":"2.0","method":"notifications/message","params":{"level":3}})",
                       R"({"jsonrpc":"2.0","method":"notifications/message","params":[1,2]})",
                       R"({"jsonrpc":"2.0","method":"notifications/progress","params":[]})",
                       R"({"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":{"x":1}}})",
                       R"({"jsonrpc":"2.0","method":"notifications/resources/updated","params":{"uri":5}})",
                       R"({"jsonrpc":"2.0","method":"notifications/tasks/status","params":{"taskId":[]}})",
                       R"({"jsonrpc":"2.0","method":"notifications/elicitation/complete","params":{"elicitationId":null}})",
                       R"({"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,"reason":7}})",
                       R"({"jsonrpc":"2.0","method":"notifications/tools/list_changed","params":[]})"});
  // The log message with a numeric level is relayed (logger tagged), the rest dropped.
  EXPECT_EQ(r["result"]["content"][0]["text"], "emitted");
  still_works(h);
}

// 4. A host cancel whose reason is not a string.
TEST_F(hostile_test, a_host_cancel_with_a_wrongly_typed_reason_cancels_and_the_session_lives) {
  auto& h = start({{"alpha"}});
  h.initialize();
  h.send({{"jsonrpc", "2.0"}, {"id", "slow"}, {"method", "tools/call"},
          {"params", {{"name", "alpha__slow"}, {"arguments", {{"ms", 5000}}}}}});
  EXPECT_EQ(h.request("ping")["result"], json::object());  // the call is in flight
  h.send({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"},
          {"params", {{"requestId", "slow"}, {"reason", {{"not", "a string"}}}}}});
  h.send({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", json::array({1, 2})}});
  h.send({{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", nullptr}}}});
  still_works(h);
  const auto cancellations = json::parse(
      h.request("tools/call", {{"name", "alpha__cancellations"}})["result"]["content"][0]["text"].get<std::string>());
  EXPECT_EQ(cancellations.size(), 1U) << "the slow call was cancelled upstream";
}

// 5. A bad clientInfo, and a bad initialize that can be retried.
TEST_F(hostile_test, a_malformed_initialize_is_answered_and_a_retry_succeeds) {
  auto& h = start({{"alpha"}});
  const auto bad_version = h.request("initialize", {{"protocolVersion", 2025}, {"capabilities", json::object()}});
  EXPECT_EQ(bad_version["error"]["code"], -32602);
  const auto odd_info = h.request("initialize", {{"protocolVersion", "2025-11-25"},
                                                 {"capabilities", "none"},
                                                 {"clientInfo", "x"}});
  ASSERT_TRUE(odd_info.contains("result")) << odd_info.dump();
  EXPECT_EQ(odd_info["result"]["protocolVersion"], "2025-11-25");
  h.send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  still_works(h);
}

// 6. Every method with each field wrongly typed, null, missing or an array: -32602 (or the
// answer the spec gives), never -32603, and the session keeps working.
TEST_F(hostile_test, wrongly_typed_params_get_invalid_params_for_every_method) {
  auto& h = start({{"alpha", {"--null-description"}}}, "naming:\n  tool_cap: 1\n  meta_tools: true\n");
  h.initialize();
  const std::vector<json> wrongs{json(5), json(nullptr), json::array({1}), json::object(), json(true)};
  struct field_case {
    std::string method;
    std::string field;  // JSON pointer of the field to spoil
    json params;        // a valid request
  };
  const std::vector<field_case> cases{
      {"tools/call", "/name", {{"name", "call_tool"}}},
      {"tools/call", "/arguments", {{"name", "alpha__echo"}, {"arguments", {{"text", "x"}}}}},
      {"prompts/get", "/name", {{"name", "p"}}},
      {"resources/read", "/uri", {{"uri", "alpha+x://y"}}},
      {"resources/subscribe", "/uri", {{"uri", "alpha+x://y"}}},
      {"resources/unsubscribe", "/uri", {{"uri", "alpha+x://y"}}},
      {"completion/complete", "/ref", {{"ref", {{"type", "ref/prompt"}, {"name", "p"}}}, {"argument", {{"name", "a"}, {"value", ""}}}}},
      {"completion/complete", "/ref/name", {{"ref", {{"type", "ref/prompt"}, {"name", "p"}}}}},
      {"completion/complete", "/ref/type", {{"ref", {{"type", "ref/prompt"}, {"name", "p"}}}}},
      {"logging/setLevel", "/level", {{"level", "info"}}},
      {"tasks/get", "/taskId", {{"taskId", "t"}}},
      {"tasks/result", "/taskId", {{"taskId", "t"}}},
      {"tasks/cancel", "/taskId", {{"taskId", "t"}}},
      {"tools/list", "/cursor", json::object()},
      {"prompts/list", "/cursor", json::object()},
      {"resources/list", "/cursor", json::object()},
  };
  for (const auto& c : cases) {
    for (const auto& wrong : wrongs) {
      if (c.field == "/arguments" && (wrong.is_object() || wrong.is_null())) continue;  // valid
      if (c.field == "/cursor" && wrong.is_null()) continue;            // null: no cursor
      if (c.field == "/ref" && wrong.is_object()) continue;             // still a ref, checked below
      auto params = c.params;
      params[json::json_pointer(c.field)] = wrong;
      const auto reply = h.request(c.method, params);
      ASSERT_TRUE(reply.contains("error")) << c.method << " " << c.field << "=" << wrong.dump() << ": " << reply.dump();
      EXPECT_EQ(reply["error"]["code"], -32602) << c.method << " " << c.field << "=" << wrong.dump() << ": " << reply.dump();
    }
    // And with the field missing.
    auto params = c.params;
    params[json::json_pointer(c.field).parent_pointer()].erase(json::json_pointer(c.field).back());
    const auto reply = h.request(c.method, params);
    if (reply.contains("error")) {
      EXPECT_NE(reply["error"]["code"], -32603) << c.method << " without " << c.field;
    }
  }
  // Params that are not an object at all.
  for (const auto* method : {"tools/call", "tools/list", "logging/setLevel"}) {
    const auto reply = h.request(method, json::array({1, 2}));
    EXPECT_EQ(reply["error"]["code"], -32602) << method;
  }
  // Meta tools: one upstream tool with a null description never breaks search_tools.
  const auto search = h.request("tools/call", {{"name", "search_tools"}, {"arguments", {{"query", "echo"}, {"limit", "ten"}}}});
  ASSERT_TRUE(search.contains("result")) << search.dump();
  EXPECT_NE(search["result"]["content"][0]["text"].get<std::string>().find("alpha__echo"), std::string::npos);
  const auto describe = h.request("tools/call", {{"name", "describe_tool"}, {"arguments", {{"name", 5}}}});
  EXPECT_EQ(describe["result"]["isError"], true);
  EXPECT_EQ(h.request("ping")["result"], json::object());
}

// 6. Requests from an upstream with wrongly typed params are answered, never left hanging.
TEST_F(hostile_test, wrongly_typed_upstream_requests_are_answered) {
  auto& h = start({{"alpha", {}, "    timeout: 1h\n"}});
  h.initialize("2025-11-25", {{"elicitation", json::object()}, {"sampling", json::object()}});
  for (const auto& params : {json::array({1}), json{{"mode", 5}}, json{{"mode", "url"}, {"elicitationId", 7}},
                             json{{"_meta", {{"progressToken", {{"x", 1}}}}}}}) {
    h.send({{"jsonrpc", "2.0"}, {"id", "ask"}, {"method", "tools/call"},
            {"params", {{"name", "alpha__ask"}, {"arguments", {{"method", "elicitation/create"}, {"params", params}}}}}});
    // The host may be asked (then it declines), or the upstream refused at once; never left
    // to the upstream's own 30 s deadline for its request.
    while (true) {
      const auto m = h.read(10s);
      ASSERT_TRUE(m) << params.dump();
      if (m->contains("method") && m->contains("id")) {
        h.send({{"jsonrpc", "2.0"}, {"id", (*m)["id"]}, {"result", {{"action", "decline"}}}});
        continue;
      }
      if (m->value("id", json()) == "ask") {
        EXPECT_TRUE(m->contains("result")) << m->dump();
        break;
      }
    }
  }
  still_works(h);
}

// 14. Integers beyond 64 bits are refused, never relayed as rounded doubles.
TEST_F(hostile_test, integers_beyond_64_bits_are_refused_both_ways) {
  auto& h = start({{"alpha", {}, "    timeout: 1h\n"}});
  h.initialize();
  h.send_raw(R"({"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"alpha__inspect","arguments":{"n":18446744073709551616}}})");
  const auto refused = h.read(10s);
  ASSERT_TRUE(refused);
  EXPECT_EQ((*refused)["error"]["code"], -32700);
  EXPECT_NE((*refused)["error"]["message"].get<std::string>().find("64 bits"), std::string::npos);
  // The largest 64-bit values pass exactly.
  h.send_raw(R"({"jsonrpc":"2.0","id":10,"method":"tools/call","params":{"name":"alpha__inspect","arguments":{"u":18446744073709551615,"i":-9223372036854775808}}})");
  const auto exact = h.wait_for_response(10, 10s);
  ASSERT_TRUE(exact);
  const auto seen = (*exact)["result"]["content"][0]["text"].get<std::string>();
  EXPECT_NE(seen.find("18446744073709551615"), std::string::npos) << seen;
  EXPECT_NE(seen.find("-9223372036854775808"), std::string::npos) << seen;
  // From the upstream: its reply fails at once instead of being altered.
  const auto big = emit(h, "alpha__emit", {R"({"jsonrpc":"2.0","id":$ID,"result":{"n":123456789012345678901234567890}})"}, false);
  EXPECT_EQ(big["error"]["code"], -32005);
  EXPECT_NE(big["error"]["message"].get<std::string>().find("64 bits"), std::string::npos);
  still_works(h);
}

// 8. A host that never reads: what waits for it is bounded (limits.max_queued), then it is
// disconnected; memory never follows the host's neglect.
TEST_F(hostile_test, a_host_that_never_reads_is_disconnected_at_the_queue_bound) {
  auto& h = start({{"alpha"}}, "limits:\n  max_message_size: 2MiB\n  max_queued: 4MiB\n");
  h.initialize();
  for (int i = 0; i < 40; ++i) {
    h.send({{"jsonrpc", "2.0"}, {"id", i}, {"method", "tools/call"},
            {"params", {{"name", "alpha__big"}, {"arguments", {{"bytes", 1'000'000}}}}}});
  }
  EXPECT_TRUE(h.wait_for_stderr("a peer stopped reading", 60s)) << h.stderr_text();
  EXPECT_TRUE(h.wait_exit(30s)) << "the host link is gone, so manifold stops";
}

// 8. An upstream that floods notifications at a host that is slower than it: once half the
// queue is used, log notifications are dropped for that host; its responses still arrive.
TEST_F(hostile_test, a_notification_flood_is_dropped_for_a_lagging_host_and_replies_still_arrive) {
  auto& h = start({{"alpha"}}, "limits:\n  max_message_size: 256KiB\n  max_queued: 1MiB\n");
  h.initialize();
  EXPECT_EQ(h.request("logging/setLevel", {{"level", "debug"}})["result"], json::object());
  h.send({{"jsonrpc", "2.0"}, {"id", "flood"}, {"method", "tools/call"},
          {"params", {{"name", "alpha__flood"}, {"arguments", {{"count", 100'000}}}}}});
  // Nothing is read until manifold has had to drop.
  ASSERT_TRUE(h.wait_for_stderr("is not keeping up", 60s));
  std::size_t logs = 0;
  while (true) {
    const auto m = h.read(30s);
    ASSERT_TRUE(m);
    if (m->value("method", "") == "notifications/message") {
      ++logs;
      continue;
    }
    EXPECT_EQ(m->value("id", json()), "flood");
    EXPECT_EQ((*m)["result"]["content"][0]["text"], "flooded 100000");
    break;
  }
  EXPECT_LT(logs, 100'000U);
  still_works(h);
}

// 8. Requests in flight per session are capped; the excess is refused at once.
TEST_F(hostile_test, requests_in_flight_beyond_the_cap_are_refused_at_once) {
  auto& h = start({{"alpha"}}, "limits:\n  max_in_flight: 20\n");
  h.initialize();
  constexpr int sent = 50;
  for (int i = 0; i < sent; ++i) {
    h.send({{"jsonrpc", "2.0"}, {"id", i}, {"method", "tools/call"},
            {"params", {{"name", "alpha__slow"}, {"arguments", {{"ms", 2000}}}}}});
  }
  int refused = 0;
  int answered = 0;
  while (refused + answered < sent) {
    const auto m = h.read(30s);
    ASSERT_TRUE(m);
    if (m->contains("error")) {
      EXPECT_EQ((*m)["error"]["code"], -32005) << m->dump();
      ++refused;
    } else {
      ++answered;
    }
  }
  EXPECT_EQ(refused, sent - 20);
  still_works(h);
}

// 15. Control bytes from an upstream's stderr are escaped in manifold's log.
TEST_F(hostile_test, control_bytes_from_upstream_stderr_are_escaped_in_the_log) {
  auto& h = start({{"alpha"}});
  h.initialize();
  h.request("tools/call", {{"name", "alpha__emit"},
                           {"arguments", {{"stderr", {"evil\x1b[2J\rforged 2026-01-01 info line"}}}}});
  ASSERT_TRUE(h.wait_for_stderr("forged", 10s));
  const auto log = h.stderr_text();
  EXPECT_NE(log.find("evil\\x1b[2J\\rforged"), std::string::npos) << log;
  EXPECT_EQ(log.find('\x1b'), std::string::npos) << "no raw escape byte reaches the log";
}

}  // namespace
}  // namespace manifold::test
