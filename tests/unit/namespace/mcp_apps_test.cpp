// MCP Apps through the catalog and views: every place a URI appears is exposed with the
// `ui://` scheme kept, and maps back; unprefixed names and original URIs (what an app sends)
// resolve only to what the view admits, and never ambiguously.
#include <gtest/gtest.h>

#include <set>

#include "manifold/namespace/uri_rewrite.hpp"
#include "manifold/namespace/view.hpp"

namespace manifold::ns {
namespace {

const std::string app_uri = "ui://get-time/mcp-app.html";

json app_tool(const std::string& name, bool both_keys = true) {
  json meta{{"ui", {{"resourceUri", app_uri}}}};
  if (both_keys) meta["ui/resourceUri"] = app_uri;
  return {{"name", name}, {"inputSchema", {{"type", "object"}}}, {"_meta", std::move(meta)}};
}

json app_resource() {
  return {{"name", app_uri},
          {"uri", app_uri},
          {"mimeType", "text/html;profile=mcp-app"},
          {"_meta",
           {{"ui",
             {{"csp", {{"connectDomains", {"https://api.example.com"}}, {"resourceDomains", {"ui://x"}}}},
              {"domain", "ui://not-a-resource"},
              {"prefersBorder", true}}}}}};
}

// An ext-apps server as its examples look: an app tool, an app-only tool, the app resource.
upstream_listing app_server(std::string server, std::string ns = {}) {
  upstream_listing l;
  l.server = server;
  l.namespace_ = ns.empty() ? server : std::move(ns);
  l.tools = {app_tool("get-time"),
             {{"name", "poll"}, {"inputSchema", {{"type", "object"}}}, {"_meta", {{"ui", {{"visibility", {"app"}}}}}}}};
  l.resources = {app_resource()};
  l.resource_templates = {{{"uriTemplate", "ui://get-time/{page}.html"}, {"name", "ui://get-time/{page}.html"}}};
  return l;
}

TEST(mcp_apps_uris, namespacing_keeps_the_ui_scheme_and_round_trips) {
  const auto c = build_catalog({app_server("basic"), app_server("Other_App")}, {});
  EXPECT_EQ(c.expose_uri("basic", app_uri), "ui://basic/get-time/mcp-app.html");
  EXPECT_EQ(c.expose_uri("Other_App", app_uri), "ui://other-app/get-time/mcp-app.html");
  const auto back = c.resolve_uri("ui://basic/get-time/mcp-app.html");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->server, "basic");
  EXPECT_EQ(back->uri, app_uri);
  EXPECT_EQ(c.resolve_uri("UI://OTHER-APP/get-time/mcp-app.html")->server, "Other_App");
  EXPECT_EQ(c.resolve_uri("UI://OTHER-APP/get-time/mcp-app.html")->uri, "UI://get-time/mcp-app.html");
  // Not a namespaced form: no token, no path after it, or nothing after the token.
  EXPECT_FALSE(c.resolve_uri("ui://nobody/get-time/mcp-app.html"));
  EXPECT_FALSE(c.resolve_uri("ui://basic"));
  EXPECT_FALSE(c.resolve_uri("ui://basic/"));
  // A ui: URI without "//" cannot keep the scheme; it takes the general form.
  EXPECT_EQ(c.expose_uri("basic", "ui:opaque"), "basic+ui:opaque");
  EXPECT_EQ(c.resolve_uri("basic+ui:opaque")->uri, "ui:opaque");
  // Other schemes are as before.
  EXPECT_EQ(c.expose_uri("basic", "demo://x"), "basic+demo://x");
}

TEST(mcp_apps_uris, the_token_may_equal_the_apps_own_first_segment) {
  // A server named like its app: ui://get-time/... of server `get-time`.
  const auto c = build_catalog({app_server("get-time")}, {});
  EXPECT_EQ(c.resources()[0].name, "ui://get-time/get-time/mcp-app.html");
  EXPECT_EQ(c.resolve_uri("ui://get-time/get-time/mcp-app.html")->uri, app_uri);
  EXPECT_EQ(c.tools()[0].definition["_meta"]["ui"]["resourceUri"], c.resources()[0].name);
}

TEST(mcp_apps_uris, listed_tools_resources_and_templates_name_the_exposed_uri) {
  const auto c = build_catalog({app_server("basic")}, {});
  const auto* tool = c.find_tool("basic__get-time");
  ASSERT_NE(tool, nullptr);
  const auto& resource = c.resources().at(0);
  EXPECT_EQ(resource.definition["uri"], "ui://basic/get-time/mcp-app.html");
  EXPECT_EQ(resource.definition["name"], resource.definition["uri"]) << "a name that was the URI follows it";
  EXPECT_EQ(tool->definition["_meta"]["ui"]["resourceUri"], resource.definition["uri"]);
  EXPECT_EQ(tool->definition["_meta"]["ui/resourceUri"], resource.definition["uri"]);
  // Web origins are not resource URIs.
  EXPECT_EQ(resource.definition["_meta"], app_resource()["_meta"]);
  // visibility and the rest of _meta.ui pass through.
  const auto* poll = c.find_tool("basic__poll");
  ASSERT_NE(poll, nullptr);
  EXPECT_EQ(poll->definition["_meta"], json({{"ui", {{"visibility", {"app"}}}}}));
  const auto& t = c.resource_templates().at(0);
  EXPECT_EQ(t.definition["uriTemplate"], "ui://basic/get-time/{page}.html");
  EXPECT_EQ(t.definition["name"], t.definition["uriTemplate"]);
  EXPECT_EQ(t.original, "ui://get-time/{page}.html");
  // Decisions say what happened.
  ASSERT_FALSE(resource.decisions.empty());
  EXPECT_NE(resource.decisions[0].find("ui://basic/"), std::string::npos);
}

TEST(mcp_apps_uris, only_the_keys_present_are_rewritten_and_none_invented) {
  auto l = app_server("basic");
  l.tools = {app_tool("get-time", false)};
  json flat_only = app_tool("flat");
  flat_only["_meta"].erase("ui");
  l.tools.push_back(flat_only);
  json odd = app_tool("odd");
  odd["_meta"]["ui"] = "not an object";
  odd["_meta"]["ui/resourceUri"] = 7;
  l.tools.push_back(odd);
  const auto c = build_catalog({l}, {});
  EXPECT_EQ(c.find_tool("basic__get-time")->definition["_meta"],
            json({{"ui", {{"resourceUri", "ui://basic/get-time/mcp-app.html"}}}}));
  EXPECT_EQ(c.find_tool("basic__flat")->definition["_meta"],
            json({{"ui/resourceUri", "ui://basic/get-time/mcp-app.html"}}));
  EXPECT_EQ(c.find_tool("basic__odd")->definition["_meta"],
            json({{"ui", "not an object"}, {"ui/resourceUri", 7}}));
}

TEST(mcp_apps_uris, prefix_never_and_when_needed_pass_uris_unchanged) {
  for (const auto mode : {prefix_mode::never, prefix_mode::when_needed}) {
    naming_options naming;
    naming.prefix = mode;
    const auto c = build_catalog({app_server("basic")}, naming);
    EXPECT_EQ(c.resources()[0].definition["uri"], app_uri);
    EXPECT_EQ(c.tools()[0].definition["_meta"], app_tool("x")["_meta"]);
  }
}

TEST(mcp_apps_uris, every_message_location_is_exposed) {
  const auto c = build_catalog({app_server("basic")}, {});
  const std::string exposed = "ui://basic/get-time/mcp-app.html";

  json call{{"content",
             {{{"type", "text"}, {"text", app_uri}},
              {{"type", "resource_link"}, {"uri", app_uri}, {"name", "app"}},
              {{"type", "resource"}, {"resource", {{"uri", app_uri}, {"text", "<html>"}}}}}},
            {"structuredContent", {{"uri", app_uri}}},
            {"_meta", {{"ui", {{"resourceUri", app_uri}, {"csp", {{"frameDomains", {"ui://keep"}}}}}},
                       {"ui/resourceUri", app_uri}}}};
  for (const auto* method : {"tools/call", "tasks/result"}) {
    auto copy = call;
    expose_uris(c, "basic", method, copy);
    EXPECT_EQ(copy["content"][0]["text"], app_uri) << method;
    EXPECT_EQ(copy["content"][1]["uri"], exposed) << method;
    EXPECT_EQ(copy["content"][2]["resource"]["uri"], exposed) << method;
    EXPECT_EQ(copy["structuredContent"]["uri"], app_uri) << method;
    EXPECT_EQ(copy["_meta"]["ui"]["resourceUri"], exposed) << method;
    EXPECT_EQ(copy["_meta"]["ui/resourceUri"], exposed) << method;
    EXPECT_EQ(copy["_meta"]["ui"]["csp"], call["_meta"]["ui"]["csp"]) << method;
  }

  json read{{"contents", {{{"uri", app_uri}, {"mimeType", "text/html;profile=mcp-app"}, {"text", "<html>"},
                           {"_meta", {{"ui", {{"domain", "https://a.example"}}}}}}}}};
  expose_uris(c, "basic", "resources/read", read);
  EXPECT_EQ(read["contents"][0]["uri"], exposed);
  EXPECT_EQ(read["contents"][0]["_meta"]["ui"]["domain"], "https://a.example");

  json prompt{{"messages", {{{"role", "user"}, {"content", {{"type", "resource_link"}, {"uri", app_uri}}}}}}};
  expose_uris(c, "basic", "prompts/get", prompt);
  EXPECT_EQ(prompt["messages"][0]["content"]["uri"], exposed);

  json updated{{"uri", app_uri}};
  expose_uris(c, "basic", "notifications/resources/updated", updated);
  EXPECT_EQ(updated["uri"], exposed);

  json tools{{"tools", {app_tool("get-time")}}};
  expose_uris(c, "basic", "tools/list", tools);
  EXPECT_EQ(tools["tools"][0]["_meta"]["ui"]["resourceUri"], exposed);
  EXPECT_EQ(tools["tools"][0]["_meta"]["ui/resourceUri"], exposed);
  EXPECT_EQ(tools["tools"][0]["name"], "get-time") << "names are the catalog's business";

  json resources{{"resources", {app_resource()}}};
  expose_uris(c, "basic", "resources/list", resources);
  EXPECT_EQ(resources["resources"][0]["uri"], exposed);
  EXPECT_EQ(resources["resources"][0]["name"], exposed);
  EXPECT_EQ(resources["resources"][0]["_meta"], app_resource()["_meta"]);

  json named{{"resources", {{{"uri", app_uri}, {"name", "Clock"}}}}};
  expose_uris(c, "basic", "resources/list", named);
  EXPECT_EQ(named["resources"][0]["name"], "Clock");

  json templates{{"resourceTemplates", {{{"uriTemplate", "ui://get-time/{p}"}, {"name", "ui://get-time/{p}"}}}}};
  expose_uris(c, "basic", "resources/templates/list", templates);
  EXPECT_EQ(templates["resourceTemplates"][0]["uriTemplate"], "ui://basic/get-time/{p}");
  EXPECT_EQ(templates["resourceTemplates"][0]["name"], "ui://basic/get-time/{p}");

  // Elicitation URLs are web addresses for a person, never resource URIs.
  json elicit{{"mode", "url"}, {"url", "ui://looks-like-one"}, {"message", "m"}};
  const auto before = elicit;
  expose_uris(c, "basic", "elicitation/create", elicit);
  EXPECT_EQ(elicit, before);
}

TEST(mcp_apps_uris, malformed_parts_are_left_alone) {
  const auto c = build_catalog({app_server("basic")}, {});
  for (json part : {json(nullptr), json("x"), json::array(), json({{"_meta", "x"}}),
                    json({{"_meta", {{"ui", nullptr}}}}), json({{"tools", "x"}}), json({{"tools", {1, "a"}}}),
                    json({{"resources", {{{"uri", 1}, {"name", 1}}}}}), json({{"content", {{{"type", 3}}}}})}) {
    const auto before = part;
    for (const auto* method : {"tools/call", "tools/list", "resources/list", "resources/templates/list",
                               "resources/read", "prompts/get", "notifications/resources/updated"}) {
      expose_uris(c, "basic", method, part);
    }
    EXPECT_EQ(part, before);
  }
}

// A stand-in for a role or group: admits tools and resources by exact exposed name.
class only final : public admission {
 public:
  explicit only(std::set<std::string> names) : names_(std::move(names)) {}
  [[nodiscard]] bool admits(entry_kind, std::string_view exposed) const override {
    return names_.count(std::string(exposed)) != 0;
  }

 private:
  std::set<std::string> names_;
};

std::shared_ptr<const catalog> two_apps() {
  return std::make_shared<const catalog>(build_catalog({app_server("basic"), app_server("other")}, {}));
}

TEST(mcp_apps_names, an_unprefixed_name_reaches_the_one_visible_tool) {
  const view v(two_apps(), {std::make_shared<only>(std::set<std::string>{"basic__get-time", "other__poll"})}, {});
  const auto t = v.resolve_tool("get-time");
  ASSERT_NE(t.tool, nullptr);
  EXPECT_EQ(t.tool->name, "basic__get-time");
  EXPECT_EQ(t.tool->server, "basic");
  EXPECT_EQ(t.candidates, 1U);
  EXPECT_EQ(v.resolve_tool("poll").tool->server, "other");
  EXPECT_EQ(v.resolve_tool("basic__get-time").tool->original, "get-time") << "exposed names first";
}

TEST(mcp_apps_names, hidden_tools_are_not_reached_by_their_original_name) {
  const view v(two_apps(), {std::make_shared<only>(std::set<std::string>{"other__poll"})}, {});
  const auto t = v.resolve_tool("get-time");
  EXPECT_EQ(t.tool, nullptr);
  EXPECT_EQ(t.candidates, 0U) << "hidden tools do not even make a name ambiguous";
  EXPECT_EQ(v.resolve_tool("basic__get-time").tool, nullptr);
  EXPECT_EQ(v.resolve_tool("nothing").tool, nullptr);
}

TEST(mcp_apps_names, a_name_two_visible_tools_share_is_ambiguous) {
  const view v(two_apps(), {}, {});
  const auto t = v.resolve_tool("get-time");
  EXPECT_EQ(t.tool, nullptr);
  EXPECT_EQ(t.candidates, 2U);
  EXPECT_NE(v.resolve_tool("other__get-time").tool, nullptr);
}

TEST(mcp_apps_names, an_original_uri_reaches_the_one_visible_resource) {
  const auto c = two_apps();
  const view v(c, {std::make_shared<only>(std::set<std::string>{"ui://other/get-time/mcp-app.html"})}, {});
  const auto r = v.resolve_uri(app_uri);
  ASSERT_TRUE(r.target);
  EXPECT_EQ(r.target->server, "other");
  EXPECT_EQ(r.target->uri, app_uri);
  // The exposed URI of the hidden one stays unreachable; the visible one by its own URI.
  EXPECT_FALSE(v.resolve_uri("ui://basic/get-time/mcp-app.html").target);
  EXPECT_EQ(v.resolve_uri("ui://other/get-time/mcp-app.html").target->uri, app_uri);
  // Unlisted URIs under a token still map back when the view admits them.
  EXPECT_FALSE(v.resolve_uri("ui://basic/get-time/page2.html").target);
  const view all(c, {}, {});
  EXPECT_EQ(all.resolve_uri("ui://basic/get-time/page2.html").target->uri, "ui://get-time/page2.html");
}

TEST(mcp_apps_names, an_original_uri_two_visible_upstreams_list_is_ambiguous) {
  const view v(two_apps(), {}, {});
  const auto r = v.resolve_uri(app_uri);
  EXPECT_FALSE(r.target);
  EXPECT_EQ(r.candidates, 2U);
  const view none(two_apps(), {std::make_shared<only>(std::set<std::string>{})}, {});
  EXPECT_FALSE(none.resolve_uri(app_uri).target);
  EXPECT_EQ(none.resolve_uri(app_uri).candidates, 0U);
}

TEST(mcp_apps_names, a_listed_original_wins_over_a_token_reading) {
  // Server `get-time` lists ui://get-time/mcp-app.html; read by its own URI, whose first
  // segment is also that server's token, it is the listed resource, not ui://mcp-app.html.
  const view v(std::make_shared<const catalog>(build_catalog({app_server("get-time")}, {})), {}, {});
  const auto r = v.resolve_uri(app_uri);
  ASSERT_TRUE(r.target);
  EXPECT_EQ(r.target->uri, app_uri);
  EXPECT_EQ(v.resolve_uri("ui://get-time/get-time/mcp-app.html").target->uri, app_uri);
}

}  // namespace
}  // namespace manifold::ns
