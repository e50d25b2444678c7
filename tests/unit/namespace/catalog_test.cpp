#include "manifold/namespace/catalog.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "manifold/namespace/task_ids.hpp"
#include "manifold/namespace/uri_rewrite.hpp"

namespace manifold::ns {
namespace {

json tool(const std::string& name) {
  return {{"name", name},
          {"description", "d-" + name},
          {"inputSchema", {{"type", "object"}}},
          {"outputSchema", {{"type", "object"}}},
          {"annotations", {{"readOnlyHint", true}}},
          {"icons", json::array({{{"src", "data:x"}}})},
          {"_meta", {{"k", "v"}}},
          {"title", "T"}};
}

upstream_listing listing(std::string server, std::string ns, std::vector<json> tools = {}) {
  upstream_listing l;
  l.server = std::move(server);
  l.namespace_ = std::move(ns);
  l.tools = std::move(tools);
  return l;
}

TEST(catalog, prefixes_names_and_keeps_the_whole_definition) {
  const auto c = build_catalog({listing("everything", "everything", {tool("echo"), tool("add")}),
                                listing("mem", "memory", {tool("read_graph")})},
                               {});
  ASSERT_EQ(c.tools().size(), 3U);
  EXPECT_EQ(c.tools()[0].name, "everything__echo");
  EXPECT_EQ(c.tools()[2].name, "memory__read_graph");
  const auto* t = c.find_tool("memory__read_graph");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->server, "mem");
  EXPECT_EQ(t->original, "read_graph");
  auto expected = tool("read_graph");
  expected["name"] = "memory__read_graph";
  EXPECT_EQ(t->definition, expected);
  EXPECT_EQ(c.find_tool("read_graph"), nullptr);
  EXPECT_EQ(c.find_tool("memory__"), nullptr);
}

TEST(catalog, separator_is_configurable) {
  naming_options naming;
  naming.separator = ".";
  naming.chars = charset::spec;  // '.' is outside the strict charset
  EXPECT_EQ(build_catalog({listing("a", "a", {tool("x")})}, naming).tools()[0].name, "a.x");
  naming.chars = charset::strict;
  EXPECT_EQ(build_catalog({listing("a", "a", {tool("x")})}, naming).tools()[0].name, "a_x");
}

TEST(catalog, prefix_never_passes_names_through) {
  naming_options naming;
  naming.prefix = prefix_mode::never;
  const auto c = build_catalog({listing("a", "a", {tool("x")}), listing("b", "b", {tool("x")})}, naming);
  ASSERT_EQ(c.tools().size(), 1U);
  EXPECT_EQ(c.tools()[0].name, "x");
  EXPECT_EQ(c.find_tool("x")->server, "a");
  ASSERT_EQ(c.collisions().size(), 1U);
  EXPECT_EQ(c.collisions()[0].dropped_server, "b");
}

TEST(catalog, collisions_are_resolved_by_config_order_and_reported) {
  const auto c = build_catalog({listing("first", "a", {tool("b__c"), tool("solo")}),
                                listing("second", "a__b", {tool("c")})},
                               {});
  ASSERT_EQ(c.tools().size(), 2U);
  ASSERT_EQ(c.collisions().size(), 1U);
  const auto& col = c.collisions()[0];
  EXPECT_EQ(col.kind, entry_kind::tool);
  EXPECT_EQ(col.exposed_name, "a__b__c");
  EXPECT_EQ(col.kept_server, "first");
  EXPECT_EQ(col.kept_original, "b__c");
  EXPECT_EQ(col.dropped_server, "second");
  EXPECT_EQ(col.dropped_original, "c");
  EXPECT_EQ(c.find_tool("a__b__c")->server, "first");
}

TEST(catalog, a_server_listing_the_same_tool_twice_keeps_the_first) {
  const auto c = build_catalog({listing("s", "s", {tool("x"), tool("x")})}, {});
  EXPECT_EQ(c.tools().size(), 1U);
  EXPECT_EQ(c.collisions().size(), 1U);
}

TEST(catalog, entries_without_a_name_are_rejected_not_exposed) {
  const auto c = build_catalog(
      {listing("s", "s", {json{{"description", "no name"}}, json("str"), json{{"name", 5}}, tool("ok")})}, {});
  EXPECT_EQ(c.tools().size(), 1U);
  EXPECT_EQ(c.rejected().size(), 3U);
  EXPECT_EQ(c.rejected()[0].server, "s");
}

TEST(catalog, building_is_deterministic) {
  std::vector<upstream_listing> in;
  for (int s = 0; s < 5; ++s) {
    auto l = listing("s" + std::to_string(s), "s" + std::to_string(s));
    for (int t = 0; t < 50; ++t) l.tools.push_back(tool("t" + std::to_string(t)));
    in.push_back(l);
  }
  const auto a = build_catalog(in, {});
  const auto b = build_catalog(in, {});
  ASSERT_EQ(a.tools().size(), b.tools().size());
  for (std::size_t i = 0; i < a.tools().size(); ++i) {
    EXPECT_EQ(a.tools()[i].name, b.tools()[i].name);
    EXPECT_EQ(a.tools()[i].definition, b.tools()[i].definition);
  }
  EXPECT_EQ(fingerprint(a, entry_kind::tool), fingerprint(b, entry_kind::tool));
  in[2].tools[3]["description"] = "changed";
  EXPECT_NE(fingerprint(a, entry_kind::tool), fingerprint(build_catalog(in, {}), entry_kind::tool));
  EXPECT_EQ(fingerprint(a, entry_kind::prompt), fingerprint(build_catalog(in, {}), entry_kind::prompt));
}

TEST(catalog, prompts_are_namespaced_like_tools) {
  auto l = listing("ev", "everything");
  l.prompts = {{{"name", "simple-prompt"}, {"arguments", json::array()}}};
  const auto c = build_catalog({l}, {});
  ASSERT_EQ(c.prompts().size(), 1U);
  EXPECT_EQ(c.prompts()[0].definition["name"], "everything__simple-prompt");
  EXPECT_EQ(c.find_prompt("everything__simple-prompt")->original, "simple-prompt");
  EXPECT_EQ(c.find_tool("everything__simple-prompt"), nullptr);
}

upstream_listing with_resources(std::string server, std::string ns) {
  auto l = listing(std::move(server), std::move(ns));
  l.resources = {{{"uri", "demo://resource/static/1"}, {"name", "one"}},
                 {{"uri", "file:///tmp/a b.txt"}, {"name", "file"}}};
  l.resource_templates = {{{"uriTemplate", "demo://resource/dynamic/{id}"}, {"name", "t"}}};
  return l;
}

TEST(catalog_uris, clashing_uris_from_two_upstreams_get_distinct_round_tripping_names) {
  const auto c = build_catalog({with_resources("everything", "everything"),
                                with_resources("other", "Other_Server")},
                               {});
  ASSERT_EQ(c.resources().size(), 4U);
  EXPECT_TRUE(c.collisions().empty());
  EXPECT_EQ(c.resources()[0].name, "everything+demo://resource/static/1");
  EXPECT_EQ(c.resources()[0].definition["uri"], "everything+demo://resource/static/1");
  EXPECT_EQ(c.resources()[2].name, "other-server+demo://resource/static/1");
  EXPECT_EQ(c.resource_templates()[1].definition["uriTemplate"],
            "other-server+demo://resource/dynamic/{id}");
  for (const auto& r : c.resources()) {
    const auto back = c.resolve_uri(r.name);
    ASSERT_TRUE(back) << r.name;
    EXPECT_EQ(back->server, r.server);
    EXPECT_EQ(back->uri, r.original);
  }
  // URIs that were never listed (a template's instances) still route by their prefix.
  const auto dynamic = c.resolve_uri("everything+demo://resource/dynamic/42");
  ASSERT_TRUE(dynamic);
  EXPECT_EQ(dynamic->server, "everything");
  EXPECT_EQ(dynamic->uri, "demo://resource/dynamic/42");
  // Scheme case does not matter (schemes are case-insensitive).
  EXPECT_EQ(c.resolve_uri("OTHER-SERVER+demo://x")->server, "other");
  EXPECT_FALSE(c.resolve_uri("demo://resource/static/1"));
  EXPECT_FALSE(c.resolve_uri("nobody+demo://x"));
  EXPECT_FALSE(c.resolve_uri("not a uri"));
}

TEST(catalog_uris, tokens_are_valid_schemes_and_unique) {
  EXPECT_EQ(uri_token_for("everything"), "everything");
  EXPECT_EQ(uri_token_for("My_Server"), "my-server");
  EXPECT_EQ(uri_token_for("9lives"), "x9lives");
  const auto c = build_catalog({with_resources("a", "my_server"), with_resources("b", "my-server")}, {});
  EXPECT_EQ(c.uri_token("a"), "my-server");
  EXPECT_EQ(c.uri_token("b"), "my-server2");
  EXPECT_EQ(c.resolve_uri("my-server2+demo://resource/static/1")->server, "b");
}

TEST(catalog_uris, uris_without_a_scheme_round_trip) {
  const auto c = build_catalog({with_resources("a", "a")}, {});
  const auto exposed = c.expose_uri("a", "relative/path");
  EXPECT_EQ(exposed, "a+none:relative/path");
  EXPECT_EQ(c.resolve_uri(exposed)->uri, "relative/path");
}

TEST(catalog_uris, prefix_never_routes_by_listing_and_templates) {
  naming_options naming;
  naming.prefix = prefix_mode::never;
  auto a = with_resources("a", "a");
  auto b = listing("b", "b");
  b.resources = {{{"uri", "test://static-text"}, {"name", "s"}}};
  b.resource_templates = {{{"uriTemplate", "test://template/{id}/data"}, {"name", "t"}}};
  const auto c = build_catalog({a, b}, naming);
  EXPECT_EQ(c.expose_uri("b", "test://static-text"), "test://static-text");
  EXPECT_EQ(c.resolve_uri("test://static-text")->server, "b");
  EXPECT_EQ(c.resolve_uri("test://template/7/data")->server, "b");
  EXPECT_EQ(c.resolve_uri("demo://resource/dynamic/3")->server, "a");
  EXPECT_FALSE(c.resolve_uri("unknown://x"));
}

TEST(uri_rewrite, every_uri_handed_to_the_host_is_exposed) {
  const auto c = build_catalog({with_resources("ev", "everything")}, {});
  json tool_result{{"content",
                    {{{"type", "text"}, {"text", "demo://not-a-link"}},
                     {{"type", "resource_link"}, {"uri", "demo://resource/static/1"}, {"name", "x"}},
                     {{"type", "resource"}, {"resource", {{"uri", "demo://r/2"}, {"text", "t"}}}},
                     {{"type", "image"}, {"data", "AAAA"}, {"mimeType", "image/png"}}}},
                   {"structuredContent", {{"uri", "demo://kept"}}}};
  expose_uris(c, "ev", "tools/call", tool_result);
  EXPECT_EQ(tool_result["content"][0]["text"], "demo://not-a-link");
  EXPECT_EQ(tool_result["content"][1]["uri"], "everything+demo://resource/static/1");
  EXPECT_EQ(tool_result["content"][2]["resource"]["uri"], "everything+demo://r/2");
  EXPECT_EQ(tool_result["structuredContent"]["uri"], "demo://kept");

  json read{{"contents", {{{"uri", "demo://resource/static/1"}, {"text", "x"}}}}};
  expose_uris(c, "ev", "resources/read", read);
  EXPECT_EQ(read["contents"][0]["uri"], "everything+demo://resource/static/1");

  json prompt{{"messages",
               {{{"role", "user"}, {"content", {{"type", "resource"}, {"resource", {{"uri", "demo://p"}}}}}}}}};
  expose_uris(c, "ev", "prompts/get", prompt);
  EXPECT_EQ(prompt["messages"][0]["content"]["resource"]["uri"], "everything+demo://p");

  json updated{{"uri", "demo://resource/static/1"}};
  expose_uris(c, "ev", "notifications/resources/updated", updated);
  EXPECT_EQ(updated["uri"], "everything+demo://resource/static/1");
}

TEST(task_ids, are_namespaced_per_upstream_and_round_trip) {
  EXPECT_EQ(expose_task_id("everything", "abc:1"), "everything:abc:1");
  const auto back = resolve_task_id("everything:abc:1");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->server, "everything");
  EXPECT_EQ(back->task_id, "abc:1");
  EXPECT_FALSE(resolve_task_id("no-colon"));
  EXPECT_FALSE(resolve_task_id(":x"));

  json created{{"task", {{"taskId", "t1"}, {"status", "working"}}}};
  expose_task_ids("ev", created);
  EXPECT_EQ(created["task"]["taskId"], "ev:t1");
  json list{{"tasks", {{{"taskId", "a"}}, {{"taskId", "b"}}}}};
  expose_task_ids("ev", list);
  EXPECT_EQ(list["tasks"][1]["taskId"], "ev:b");
  json related{{"content", json::array()}, {"_meta", {{std::string(related_task_key), {{"taskId", "z"}}}}}};
  expose_task_ids("ev", related);
  EXPECT_EQ(related["_meta"][std::string(related_task_key)]["taskId"], "ev:z");
}

// Property: whatever the server and tool names, exposed tool names are unique and every
// exposed URI maps back to exactly what the upstream listed.
TEST(catalog_properties, random_listings_never_collide_silently_and_uris_round_trip) {
  std::mt19937 rng(20261124);
  const std::string alphabet = "abcXYZ019_-.:/ +";
  auto random_string = [&](std::size_t max_len) {
    std::string s;
    const auto len = 1 + rng() % max_len;
    for (std::size_t i = 0; i < len; ++i) s += alphabet[rng() % alphabet.size()];
    return s;
  };
  for (int round = 0; round < 200; ++round) {
    std::vector<upstream_listing> in;
    const auto servers = 1 + rng() % 4;
    for (std::size_t s = 0; s < servers; ++s) {
      auto l = listing("s" + std::to_string(s), s % 2 == 0 ? "ns" + std::to_string(s) : "Ns_" + std::to_string(s));
      for (int t = 0; t < 10; ++t) {
        l.tools.push_back(tool(random_string(6)));
        l.resources.push_back({{"uri", random_string(4) + "://" + random_string(8)}, {"name", "r"}});
      }
      in.push_back(l);
    }
    const auto c = build_catalog(in, {});
    std::set<std::string> names;
    for (const auto& t : c.tools()) EXPECT_TRUE(names.insert(t.name).second) << t.name;
    std::size_t listed = 0;
    for (const auto& l : in) listed += l.tools.size();
    std::size_t tool_collisions = 0;
    for (const auto& x : c.collisions()) tool_collisions += x.kind == entry_kind::tool ? 1U : 0U;
    EXPECT_EQ(c.tools().size() + tool_collisions, listed) << "every listed tool is exposed or reported";
    for (const auto& r : c.resources()) {
      const auto back = c.resolve_uri(r.name);
      ASSERT_TRUE(back) << r.name;
      EXPECT_EQ(back->server, r.server);
      EXPECT_EQ(back->uri, r.original);
    }
  }
}

}  // namespace
}  // namespace manifold::ns
