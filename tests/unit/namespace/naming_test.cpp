#include "manifold/namespace/naming.hpp"

#include <gtest/gtest.h>

#include <random>
#include <set>

#include "manifold/namespace/catalog.hpp"

namespace manifold::ns {
namespace {

upstream_listing listing(std::string server, std::vector<std::string> tools, int priority = 0) {
  upstream_listing l;
  l.server = server;
  l.namespace_ = std::move(server);
  for (auto& t : tools) l.tools.push_back({{"name", std::move(t)}, {"inputSchema", {{"type", "object"}}}});
  l.priority = priority;
  return l;
}

TEST(naming, glob_match) {
  EXPECT_TRUE(glob_match("*", "anything"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("trigger-*", "trigger-sampling-request"));
  EXPECT_FALSE(glob_match("trigger-*", "get-sum"));
  EXPECT_TRUE(glob_match("*__delete*", "kb__delete_page"));
  EXPECT_TRUE(glob_match("get-?um", "get-sum"));
  EXPECT_FALSE(glob_match("get-?um", "get-sums"));
  EXPECT_TRUE(glob_match("a*b*c", "aXXbYYc"));
  EXPECT_FALSE(glob_match("a*b*c", "aXXbYY"));
  EXPECT_TRUE(glob_match("demo://resource/static/*", "demo://resource/static/document/x.md"));
}

TEST(naming, characters_outside_the_charset_are_mapped) {
  EXPECT_EQ(map_characters("a.b c/d", charset::strict), "a_b_c_d");
  EXPECT_EQ(map_characters("a.b c/d", charset::spec), "a.b_c_d");
  EXPECT_EQ(map_characters("ok_name-1", charset::strict), "ok_name-1");
}

TEST(naming, shortening_is_deterministic_and_keeps_distinct_names_distinct) {
  const std::string long_a(80, 'a');
  const auto one = shorten(long_a + "x", 64, std::string("s\0x", 3));
  const auto two = shorten(long_a + "y", 64, std::string("s\0y", 3));
  EXPECT_EQ(one.size(), 64U);
  EXPECT_EQ(two.size(), 64U);
  EXPECT_NE(one, two);
  EXPECT_EQ(one, shorten(long_a + "x", 64, std::string("s\0x", 3))) << "same inputs, same name";
  EXPECT_EQ(stable_hash("manifold"), stable_hash("manifold"));
  EXPECT_EQ(stable_hash("manifold").size(), 8U);
  EXPECT_EQ(shorten("short", 64, "id"), "short");
}

TEST(naming, profiles) {
  EXPECT_EQ(profile_named("claude")->max_length, 64U);
  EXPECT_EQ(profile_named("cursor")->max_length, 60U);
  EXPECT_EQ(profile_named("cursor")->tool_cap, 40U);
  EXPECT_EQ(profile_named("spec")->chars, charset::spec);
  EXPECT_FALSE(profile_named("emacs"));
}

TEST(naming, when_needed_prefixes_only_shared_names) {
  naming_options naming;
  naming.prefix = prefix_mode::when_needed;
  const auto c = build_catalog({listing("a", {"search", "only_a"}), listing("b", {"search", "only_b"})}, naming);
  std::set<std::string> names;
  for (const auto& t : c.tools()) names.insert(t.name);
  EXPECT_EQ(names, (std::set<std::string>{"a__search", "b__search", "only_a", "only_b"}));
  EXPECT_TRUE(c.collisions().empty());
  EXPECT_NE(c.find_tool("a__search")->decisions.at(0).find("another upstream"), std::string::npos);
}

TEST(naming, long_and_odd_names_fit_the_host_and_say_why) {
  naming_options naming;
  naming.max_length = 32;
  const auto c = build_catalog({listing("srv", {"a.dotted/name", std::string(50, 'z')})}, naming);
  ASSERT_EQ(c.tools().size(), 2U);
  EXPECT_EQ(c.tools()[0].name, "srv__a_dotted_name");
  EXPECT_NE(c.tools()[0].decisions.at(1).find("mapped"), std::string::npos);
  EXPECT_EQ(c.tools()[1].name.size(), 32U);
  EXPECT_NE(c.tools()[1].decisions.back().find("shortened"), std::string::npos);
  EXPECT_EQ(c.find_tool(c.tools()[1].name)->original, std::string(50, 'z'));
}

TEST(naming, collision_rules) {
  naming_options naming;
  naming.prefix = prefix_mode::never;
  auto first = build_catalog({listing("a", {"x"}, 1), listing("b", {"x"}, 5)}, naming);
  EXPECT_EQ(first.find_tool("x")->server, "a");
  EXPECT_FALSE(first.refused());

  naming.on_collision = collision_rule::priority;
  auto by_priority = build_catalog({listing("a", {"x"}, 1), listing("b", {"x"}, 5)}, naming);
  EXPECT_EQ(by_priority.find_tool("x")->server, "b");
  ASSERT_EQ(by_priority.collisions().size(), 1U);
  EXPECT_EQ(by_priority.collisions()[0].kept_server, "b");
  EXPECT_EQ(by_priority.collisions()[0].dropped_server, "a");

  naming.on_collision = collision_rule::error;
  EXPECT_TRUE(build_catalog({listing("a", {"x"}), listing("b", {"x"})}, naming).refused());
  EXPECT_FALSE(build_catalog({listing("a", {"x"}), listing("b", {"y"})}, naming).refused());
}

TEST(naming, names_that_mapping_makes_equal_stay_distinct) {
  const auto c = build_catalog({listing("s", {"a.b", "a_b", "a b"})}, {});
  ASSERT_EQ(c.tools().size(), 3U);
  EXPECT_TRUE(c.collisions().empty());
  EXPECT_EQ(c.tools()[0].name, "s__a_b");
  EXPECT_NE(c.tools()[1].name, c.tools()[0].name);
  EXPECT_NE(c.tools()[2].name, c.tools()[1].name);
  EXPECT_NE(c.tools()[1].decisions.back().find("made distinct"), std::string::npos);
}

TEST(naming, filters_hide_entries_and_say_which_rule) {
  auto l = listing("ev", {"echo", "trigger-sampling", "trigger-elicitation", "get-sum"});
  l.tool_filter.deny = {"trigger-*"};
  auto c = build_catalog({l}, {});
  EXPECT_EQ(c.tools().size(), 2U);
  ASSERT_EQ(c.filtered().size(), 2U);
  EXPECT_EQ(c.filtered()[0].original, "trigger-sampling");
  EXPECT_EQ(c.filtered()[0].rule, "tools.deny `trigger-*`");
  l.tool_filter = {{"get-*"}, {}};
  c = build_catalog({l}, {});
  EXPECT_EQ(c.tools().size(), 1U);
  EXPECT_EQ(c.filtered()[0].rule, "tools.allow matches none of its patterns");
}

TEST(naming, hidden_resources_cannot_be_reached_by_uri) {
  upstream_listing l;
  l.server = l.namespace_ = "ev";
  l.resources = {{{"uri", "demo://static/a"}}, {{"uri", "demo://secret/b"}}};
  l.resource_templates = {{{"uriTemplate", "demo://dynamic/{id}"}}};
  l.resource_filter.allow = {"demo://static/*"};
  const auto c = build_catalog({l}, {});
  EXPECT_EQ(c.resources().size(), 1U);
  EXPECT_TRUE(c.resolve_uri("ev+demo://static/a"));
  EXPECT_FALSE(c.resolve_uri("ev+demo://secret/b")) << "hidden though it exists upstream";
  EXPECT_FALSE(c.resolve_uri("ev+demo://dynamic/7")) << "an instance of a hidden template";
}

TEST(overrides, rename_describe_narrow_and_hide) {
  auto l = listing("kb", {"search"});
  l.tools[0]["inputSchema"] = {{"type", "object"},
                               {"properties", {{"query", {{"type", "string"}}},
                                               {"limit", {{"type", "integer"}}},
                                               {"tenant", {{"type", "string"}}}}},
                               {"required", {"query", "tenant"}}};
  tool_override o;
  o.exposed = "kb__search";
  o.name = "search_docs";
  o.description = "Search the internal handbook.";
  o.annotations = {{"readOnlyHint", true}};
  o.arguments["limit"] = {{"maximum", 20}, {"default", 5}};
  o.arguments["tenant"] = {{"hidden", true}, {"value", "acme"}};
  const auto c = build_catalog({l}, {}, 1, {o});
  ASSERT_EQ(c.find_tool("kb__search"), nullptr);
  const auto* t = c.find_tool("search_docs");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->original, "search");
  EXPECT_EQ(t->definition["description"], "Search the internal handbook.");
  EXPECT_EQ(t->definition["annotations"]["readOnlyHint"], true);
  const auto& schema = t->definition["inputSchema"];
  EXPECT_EQ(schema["properties"]["limit"]["maximum"], 20);
  EXPECT_EQ(schema["properties"]["limit"]["default"], 5);
  EXPECT_FALSE(schema["properties"].contains("tenant")) << "a hidden argument is not published";
  EXPECT_EQ(schema["required"], json::array({"query"}));
  EXPECT_EQ(t->argument_schema["properties"]["limit"], json({{"maximum", 20}}));
  EXPECT_EQ(t->fixed_arguments["tenant"], "acme");
  EXPECT_NE(t->decisions.back().find("renamed from `kb__search`"), std::string::npos);
}

TEST(overrides, unknown_names_and_clashing_renames_are_reported) {
  tool_override typo;
  typo.exposed = "kb__serach";
  tool_override clash;
  clash.exposed = "kb__a";
  clash.name = "kb__b";
  const auto c = build_catalog({listing("kb", {"a", "b"})}, {}, 1, {typo, clash});
  EXPECT_EQ(c.unmatched_overrides(), std::vector<std::string>{"kb__serach"});
  EXPECT_NE(c.find_tool("kb__a"), nullptr);
  ASSERT_EQ(c.collisions().size(), 1U);
  EXPECT_EQ(c.collisions()[0].rule, "the rename to an existing name is not applied");
}

// Property: random server and tool names never yield a collision after shortening, an
// over-long name or a character outside the charset.
TEST(naming, random_names_always_fit_and_never_collide) {
  std::mt19937 rng(7);
  const std::string alphabet = "abcxyz_-.:/ XY09é";
  for (int round = 0; round < 300; ++round) {
    naming_options naming;
    naming.max_length = 20 + rng() % 45;
    naming.chars = round % 2 ? charset::spec : charset::strict;
    std::vector<upstream_listing> in;
    std::set<std::string> originals_per_server;
    for (int s = 0; s < 3; ++s) {
      std::vector<std::string> tools;
      std::set<std::string> seen;
      for (int t = 0; t < 20; ++t) {
        std::string n;
        const auto len = 1 + rng() % 90;
        for (std::size_t i = 0; i < len; ++i) n += alphabet[rng() % alphabet.size()];
        if (seen.insert(n).second) tools.push_back(n);
      }
      in.push_back(listing("server" + std::to_string(s), tools));
    }
    const auto c = build_catalog(in, naming);
    std::set<std::string> names;
    for (const auto& t : c.tools()) {
      EXPECT_LE(t.name.size(), naming.max_length) << t.name;
      for (const char ch : t.name) EXPECT_TRUE(allowed_char(ch, naming.chars)) << t.name;
      EXPECT_TRUE(names.insert(t.name).second) << t.name;
    }
    EXPECT_TRUE(c.collisions().empty()) << "distinct tools never lose their name to mapping or shortening";
    std::size_t listed = 0;
    for (const auto& l : in) listed += l.tools.size();
    EXPECT_EQ(c.tools().size(), listed);
  }
}

}  // namespace
}  // namespace manifold::ns
