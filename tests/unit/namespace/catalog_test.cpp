#include "manifold/namespace/catalog.hpp"

#include <gtest/gtest.h>

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

TEST(catalog, prefixes_names_and_keeps_the_whole_definition) {
  const auto c = build_catalog({{"everything", "everything", {tool("echo"), tool("add")}},
                                {"mem", "memory", {tool("read_graph")}}},
                               {});
  ASSERT_EQ(c.tools().size(), 3U);
  EXPECT_EQ(c.tools()[0].name, "everything__echo");
  EXPECT_EQ(c.tools()[2].name, "memory__read_graph");
  const auto* t = c.find_tool("memory__read_graph");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->server, "mem");
  EXPECT_EQ(t->original_name, "read_graph");
  auto expected = tool("read_graph");
  expected["name"] = "memory__read_graph";
  EXPECT_EQ(t->definition, expected);
  EXPECT_EQ(c.find_tool("read_graph"), nullptr);
  EXPECT_EQ(c.find_tool("memory__"), nullptr);
}

TEST(catalog, separator_is_configurable) {
  const auto c = build_catalog({{"a", "a", {tool("x")}}}, {"."});
  EXPECT_EQ(c.tools()[0].name, "a.x");
}

TEST(catalog, collisions_are_resolved_by_config_order_and_reported) {
  const std::vector<upstream_listing> in{{"first", "a", {tool("b__c"), tool("solo")}},
                                         {"second", "a__b", {tool("c")}}};
  const auto c = build_catalog(in, {});
  ASSERT_EQ(c.tools().size(), 2U);
  ASSERT_EQ(c.collisions().size(), 1U);
  const auto& col = c.collisions()[0];
  EXPECT_EQ(col.exposed_name, "a__b__c");
  EXPECT_EQ(col.kept_server, "first");
  EXPECT_EQ(col.kept_original, "b__c");
  EXPECT_EQ(col.dropped_server, "second");
  EXPECT_EQ(col.dropped_original, "c");
  EXPECT_EQ(c.find_tool("a__b__c")->server, "first");
}

TEST(catalog, a_server_listing_the_same_tool_twice_keeps_the_first) {
  const auto c = build_catalog({{"s", "s", {tool("x"), tool("x")}}}, {});
  EXPECT_EQ(c.tools().size(), 1U);
  EXPECT_EQ(c.collisions().size(), 1U);
}

TEST(catalog, entries_without_a_name_are_rejected_not_exposed) {
  const auto c = build_catalog(
      {{"s", "s", {json{{"description", "no name"}}, json("str"), json{{"name", 5}}, tool("ok")}}}, {});
  EXPECT_EQ(c.tools().size(), 1U);
  EXPECT_EQ(c.rejected().size(), 3U);
  EXPECT_EQ(c.rejected()[0].server, "s");
}

TEST(catalog, building_is_deterministic) {
  std::vector<upstream_listing> in;
  for (int s = 0; s < 5; ++s) {
    upstream_listing l{"s" + std::to_string(s), "s" + std::to_string(s), {}};
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
}

}  // namespace
}  // namespace manifold::ns
