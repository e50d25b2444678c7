// Extension capabilities between hosts and upstreams.
#include "manifold/protocol/extensions.hpp"

#include <gtest/gtest.h>

namespace manifold::protocol {
namespace {

using json = nlohmann::json;

const json ui{{"mimeTypes", {"text/html;profile=mcp-app"}}};

TEST(extensions, a_hosts_extensions_reach_upstreams_less_those_manifold_cannot_relay) {
  const json host{{"sampling", json::object()},
                  {"extensions",
                   {{"io.modelcontextprotocol/ui", ui},
                    {"io.modelcontextprotocol/tasks", json::object()},
                    {"com.example/other", {{"x", 1}}}}}};
  const auto upstream = relayed_capabilities(host);
  EXPECT_EQ(upstream["sampling"], json::object());
  EXPECT_EQ(upstream["extensions"], json({{"io.modelcontextprotocol/ui", ui}, {"com.example/other", {{"x", 1}}}}));
  EXPECT_EQ(relayed_capabilities({{"roots", json::object()}}), json({{"roots", json::object()}}));
  EXPECT_EQ(relayed_capabilities({{"extensions", "nonsense"}}), json::object());
  EXPECT_EQ(relayed_capabilities(json("nonsense")), json::object());
}

TEST(extensions, upstream_extensions_merge_into_manifolds_capabilities_first_one_wins) {
  json merged{{"tools", {{"listChanged", true}}}};
  merge_extensions(merged, {{"extensions", {{"io.modelcontextprotocol/ui", ui}}}});
  merge_extensions(merged, {{"extensions",
                             {{"io.modelcontextprotocol/ui", {{"mimeTypes", json::array()}}},
                              {"io.modelcontextprotocol/tasks", json::object()},
                              {"com.example/other", json::object()}}}});
  merge_extensions(merged, {{"extensions", "nonsense"}});
  merge_extensions(merged, {{"tools", json::object()}});
  EXPECT_EQ(merged["extensions"], json({{"io.modelcontextprotocol/ui", ui}, {"com.example/other", json::object()}}));
  EXPECT_EQ(merged["tools"], json({{"listChanged", true}}));
  json none{{"tools", json::object()}};
  merge_extensions(none, {{"extensions", {{"io.modelcontextprotocol/tasks", json::object()}}}});
  EXPECT_FALSE(none.contains("extensions")) << "no empty object for nothing relayed";
}

}  // namespace
}  // namespace manifold::protocol
