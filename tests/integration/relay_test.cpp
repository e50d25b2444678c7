// The protocol relay through manifold serve, for the cases real servers rarely show:
// cancellation racing a reply, manifold's own pagination, list_changed during a call,
// progress token mapping, server-to-client requests and logging.
#include <fstream>
#include <set>

#include "serve_fixture.hpp"

namespace manifold::test {
namespace {

using relay_test = serve_fixture;

json tool_call(const json& id, const std::string& tool, json args = json::object(),
               json meta = nullptr) {
  json params{{"name", tool}, {"arguments", std::move(args)}};
  if (!meta.is_null()) params["_meta"] = std::move(meta);
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"}, {"params", std::move(params)}};
}

json cancel(const json& id) {
  return {{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"},
          {"params", {{"requestId", id}, {"reason", "changed my mind"}}}};
}

TEST_F(relay_test, a_cancelled_call_is_cancelled_upstream_and_its_late_reply_is_dropped) {
  auto& h = start({{"alpha", {}}});
  h.initialize();
  h.send(tool_call("doomed", "alpha__slow", {{"ms", 300}, {"text", "late"}}));
  EXPECT_EQ(h.request("ping")["result"], json::object());  // the call is in flight now
  h.send(cancel("doomed"));
  // A later call that takes longer than the cancelled one: when it answers, the cancelled
  // call's reply (had it been delivered) would already be here.
  h.send(tool_call("after", "alpha__slow", {{"ms", 600}, {"text", "after"}}));
  const auto first = h.read(10s);
  ASSERT_TRUE(first);
  EXPECT_EQ((*first)["id"], "after") << "got " << first->dump();
  // The upstream heard the cancellation under its own request id, not the host's.
  const auto cancellations = json::parse(text_of(call(h, "alpha__cancellations")));
  ASSERT_EQ(cancellations.size(), 1U);
  EXPECT_TRUE(cancellations[0].is_number_integer());
}

TEST_F(relay_test, cancel_racing_the_reply_never_yields_two_answers_or_a_wrong_one) {
  auto& h = start({{"alpha", {}}});
  h.initialize();
  constexpr int n = 60;
  for (int i = 0; i < n; ++i) {
    h.send(tool_call(i, "alpha__slow", {{"ms", i % 4}, {"text", "r" + std::to_string(i)}}));
    if (i % 2 == 0) h.send(cancel(i));
  }
  // Cancellations of finished or unknown requests are ignored.
  h.send(cancel(12345));
  h.send(tool_call("fence", "alpha__slow", {{"ms", 200}, {"text", "fence"}}));
  std::set<int> answered;
  while (true) {
    const auto m = h.read(10s);
    ASSERT_TRUE(m);
    if ((*m)["id"] == "fence") break;
    const int id = (*m)["id"].get<int>();
    EXPECT_TRUE(answered.insert(id).second) << "two answers for " << id;
    EXPECT_EQ(text_of(*m), "r" + std::to_string(id));
  }
  for (int i = 1; i < n; i += 2) EXPECT_TRUE(answered.count(i)) << "uncancelled call " << i << " lost";
}

TEST_F(relay_test, progress_tokens_are_mapped_per_request_and_back) {
  auto& h = start({{"alpha", {}}, {"beta", {}}});
  h.initialize();
  // The same token from the host for calls to two upstreams would clash upstream-side if
  // passed through; each call gets its own token, and each progress comes back as sent.
  h.send(tool_call("a", "alpha__progress", {{"steps", 3}}, {{"progressToken", "tok-a"}}));
  h.send(tool_call("b", "beta__progress", {{"steps", 3}}, {{"progressToken", 99}}));
  std::vector<json> progress_a;
  std::vector<json> progress_b;
  std::map<std::string, json> results;
  while (results.size() < 2) {
    const auto m = h.read(10s);
    ASSERT_TRUE(m);
    if (m->value("method", "") == "notifications/progress") {
      const auto& p = (*m)["params"];
      (p["progressToken"] == "tok-a" ? progress_a : progress_b).push_back(p);
      if (p["progressToken"] != "tok-a") {
        EXPECT_EQ(p["progressToken"], 99);
      }
    } else {
      results[(*m)["id"].get<std::string>()] = *m;
    }
  }
  ASSERT_EQ(progress_a.size(), 3U);
  ASSERT_EQ(progress_b.size(), 3U);
  EXPECT_EQ(progress_a[2]["progress"], 3);
  const auto seen_a = json::parse(text_of(results["a"]))["token"];
  const auto seen_b = json::parse(text_of(results["b"]))["token"];
  EXPECT_NE(seen_a, "tok-a") << "the upstream saw manifold's token, not the host's";
  EXPECT_NE(seen_a, seen_b);
}

TEST_F(relay_test, manifolds_own_lists_are_paged_with_opaque_cursors) {
  auto& h = start({{"many", {"--tools", "250"}}}, "limits:\n  page_size: 100\n");
  h.initialize();
  std::vector<std::string> names;
  json cursor;
  std::vector<std::string> cursors;
  for (int page = 0; page < 10; ++page) {
    json params = json::object();
    if (!cursor.is_null()) params["cursor"] = cursor;
    const auto r = h.request("tools/list", params);
    for (const auto& t : r["result"]["tools"]) names.push_back(t["name"]);
    cursor = r["result"].value("nextCursor", json());
    if (cursor.is_null()) break;
    cursors.push_back(cursor);
  }
  EXPECT_EQ(names.size(), 250 + fake_tool_count);
  EXPECT_EQ(std::set<std::string>(names.begin(), names.end()).size(), names.size());
  EXPECT_EQ(cursors.size(), 2U);
  // The same cursor gives the same page while the catalog is unchanged.
  EXPECT_EQ(h.request("tools/list", {{"cursor", cursors[0]}})["result"]["tools"][0]["name"], names[100]);
  EXPECT_EQ(h.request("tools/list", {{"cursor", "bogus"}})["error"]["code"], -32602);
  EXPECT_EQ(h.request("tools/list", {{"cursor", 7}})["error"]["code"], -32602);
  EXPECT_EQ(h.request("prompts/list", {{"cursor", cursors[0]}})["error"]["code"], -32602)
      << "a cursor of one list is not valid for another";
  // After the catalog changed, old cursors are refused rather than silently skipping.
  call(h, "many__add_tool", {{"name", "added-1"}});
  const auto changed = h.read(10s);
  ASSERT_TRUE(changed);
  EXPECT_EQ((*changed)["method"], "notifications/tools/list_changed");
  EXPECT_EQ(h.request("tools/list", {{"cursor", cursors[0]}})["error"]["code"], -32602);
}

TEST_F(relay_test, list_changed_during_a_call_rebuilds_the_catalog_and_the_call_completes) {
  auto& h = start({{"alpha", {}}, {"beta", {}}});
  h.initialize();
  h.send(tool_call("long", "alpha__slow", {{"ms", 500}, {"text", "finished"}}));
  EXPECT_EQ(text_of(call(h, "beta__add_tool", {{"name", "added-x"}})), "added");
  const auto notification = h.read(10s);
  ASSERT_TRUE(notification);
  EXPECT_EQ((*notification)["method"], "notifications/tools/list_changed");
  const auto list = h.request("tools/list");
  bool found = false;
  for (const auto& t : list["result"]["tools"]) found = found || t["name"] == "beta__added-x";
  EXPECT_TRUE(found);
  EXPECT_EQ(text_of(call(h, "beta__added-x")), "added-x");
  const auto long_call = h.wait_for_response("long");
  ASSERT_TRUE(long_call);
  EXPECT_EQ(text_of(*long_call), "finished");
}

TEST_F(relay_test, upstream_requests_reach_the_host_under_a_new_id_and_the_answer_goes_back) {
  auto& h = start({{"alpha", {}}});
  h.initialize("2025-11-25", {{"sampling", json::object()}});
  h.send(tool_call("q", "alpha__ask",
                   {{"method", "sampling/createMessage"},
                    {"params", {{"messages", json::array()}, {"maxTokens", 5}}}}));
  const auto request = h.read(10s);
  ASSERT_TRUE(request);
  ASSERT_EQ((*request)["method"], "sampling/createMessage");
  EXPECT_EQ((*request)["params"]["maxTokens"], 5);
  h.send({{"jsonrpc", "2.0"}, {"id", (*request)["id"]},
          {"result", {{"role", "assistant"}, {"model", "m"}, {"content", {{"type", "text"}, {"text", "hi"}}}}}});
  const auto answer = h.wait_for_response("q");
  ASSERT_TRUE(answer);
  EXPECT_EQ(json::parse(text_of(*answer))["model"], "m");

  // A host error goes back to the upstream as an error.
  h.send(tool_call("q2", "alpha__ask", {{"method", "sampling/createMessage"}, {"params", json::object()}}));
  const auto second = h.read(10s);
  ASSERT_TRUE(second);
  h.send({{"jsonrpc", "2.0"}, {"id", (*second)["id"]}, {"error", {{"code", -1}, {"message", "user declined"}}}});
  const auto declined = h.wait_for_response("q2");
  ASSERT_TRUE(declined);
  EXPECT_NE(text_of(*declined).find("user declined"), std::string::npos);
}

TEST_F(relay_test, upstream_requests_for_undeclared_capabilities_are_refused_to_the_upstream) {
  auto& h = start({{"alpha", {}}});
  h.initialize("2025-11-25", {{"sampling", json::object()}});
  const auto roots = call(h, "alpha__ask", {{"method", "roots/list"}});
  EXPECT_EQ(roots["result"]["isError"], true);
  EXPECT_NE(text_of(roots).find("-32601"), std::string::npos);
  const auto other = call(h, "alpha__ask", {{"method", "something/else"}});
  EXPECT_NE(text_of(other).find("-32601"), std::string::npos);
}

TEST_F(relay_test, log_levels_fan_out_and_messages_arrive_tagged_with_their_server) {
  auto& h = start({{"alpha", {}}});
  h.initialize();
  EXPECT_EQ(h.request("logging/setLevel", {{"level", "warning"}})["result"], json::object());
  EXPECT_EQ(h.request("logging/setLevel", {{"level", "loud"}})["error"]["code"], -32602);
  h.send(tool_call("f", "alpha__flood", {{"count", 3}}));
  // flood sends level "info", below this host's "warning": filtered out.
  const auto reply = h.read(10s);
  ASSERT_TRUE(reply);
  EXPECT_EQ((*reply)["id"], "f");
  EXPECT_EQ(h.request("logging/setLevel", {{"level", "debug"}})["result"], json::object());
  h.send(tool_call("g", "alpha__flood", {{"count", 2}}));
  int messages = 0;
  while (true) {
    const auto m = h.read(10s);
    ASSERT_TRUE(m);
    if (m->contains("id")) break;
    EXPECT_EQ((*m)["method"], "notifications/message");
    EXPECT_EQ((*m)["params"]["logger"], "alpha");
    ++messages;
  }
  EXPECT_EQ(messages, 2);
}

TEST_F(relay_test, capabilities_reflect_the_upstreams) {
  auto& h = start({{"alpha", {}}});
  const auto init = h.initialize();
  const auto& caps = init["result"]["capabilities"];
  EXPECT_EQ(caps["tools"]["listChanged"], true);
  EXPECT_TRUE(caps.contains("logging"));
  EXPECT_FALSE(caps.contains("prompts"));
  EXPECT_FALSE(caps.contains("resources"));
  EXPECT_EQ(init["result"]["instructions"], "## alpha\nA fake server for tests.");
  EXPECT_EQ(h.request("prompts/list")["result"]["prompts"], json::array());
  EXPECT_EQ(h.request("resources/read", {{"uri", "alpha+x://y"}})["error"]["code"], -32002);
  EXPECT_EQ(h.request("prompts/get", {{"name", "nope"}})["error"]["code"], -32602);
  EXPECT_EQ(h.request("tasks/get", {{"taskId", "alpha:1"}})["error"]["code"], -32601);
}

TEST_F(relay_test, extensions_reach_upstreams_and_the_host_both_ways) {
  const auto record = dir_.path() + "/alpha.jsonl";
  auto& h = start({{"alpha", {"--record", record, "--extension", "io.example/one", "--extension",
                              "io.modelcontextprotocol/tasks"}},
                   {"beta", {"--extension", "io.example/one", "--extension", "io.example/two"}}});
  const json ui{{"mimeTypes", {"text/html;profile=mcp-app"}}};
  const auto init = h.initialize("2025-11-25", {{"extensions",
                                                 {{"io.modelcontextprotocol/ui", ui},
                                                  {"io.modelcontextprotocol/tasks", json::object()}}}});
  // The upstreams' extensions, each once (the first upstream's settings), less tasks.
  EXPECT_EQ(init["result"]["capabilities"]["extensions"],
            json({{"io.example/one", {{"by", "alpha"}}}, {"io.example/two", {{"by", "beta"}}}}));
  // The host's: the upstream was initialized with them (stdio mirrors its host).
  std::ifstream in(record);
  std::string line;
  ASSERT_TRUE(std::getline(in, line));
  const auto first = json::parse(line);
  ASSERT_EQ(first["method"], "initialize");
  EXPECT_EQ(first["params"]["capabilities"]["extensions"], json({{"io.modelcontextprotocol/ui", ui}}));
}

}  // namespace
}  // namespace manifold::test
