// Views: what one kind of host session sees of a catalog, as a value computed once.
#include "manifold/namespace/view.hpp"

#include <gtest/gtest.h>

#include <set>

namespace manifold::ns {
namespace {

json tool(const std::string& name, const std::string& description = "d") {
  return {{"name", name}, {"description", description}, {"inputSchema", {{"type", "object"}}}};
}

std::shared_ptr<const catalog> catalog_of(std::vector<json> tools, std::vector<json> resources = {},
                                          std::uint64_t generation = 1) {
  upstream_listing l;
  l.server = "k8s";
  l.namespace_ = "k8s";
  l.tools = std::move(tools);
  l.resources = std::move(resources);
  return std::make_shared<const catalog>(build_catalog({l}, {}, generation));
}

// A stand-in for a role: admits tools by exact name.
class only final : public admission {
 public:
  explicit only(std::set<std::string> names) : names_(std::move(names)) {}
  [[nodiscard]] bool admits(entry_kind kind, std::string_view exposed) const override {
    return kind != entry_kind::tool || names_.count(std::string(exposed)) != 0;
  }

 private:
  std::set<std::string> names_;
};

TEST(view, every_rule_must_admit_an_entry_and_hidden_means_absent_everywhere) {
  const auto c = catalog_of({tool("get_pods"), tool("delete_pod"), tool("get_logs")},
                            {{{"uri", "k8s://pods"}, {"name", "pods"}}});
  const view v(c,
               {std::make_shared<name_filter>(std::vector<std::string>{"k8s__*", "k8s+*"},
                                              std::vector<std::string>{"*delete*"}),
                std::make_shared<only>(std::set<std::string>{"k8s__get_pods", "k8s__delete_pod"})},
               {});
  ASSERT_EQ(v.entries(entry_kind::tool).size(), 1U);
  EXPECT_EQ(v.entries(entry_kind::tool)[0]->name, "k8s__get_pods");
  EXPECT_NE(v.tool("k8s__get_pods"), nullptr);
  EXPECT_EQ(v.tool("k8s__delete_pod"), nullptr) << "excluded by the group";
  EXPECT_EQ(v.tool("k8s__get_logs"), nullptr) << "not granted by the role";
  EXPECT_EQ(v.tool("k8s__nope"), nullptr);
  EXPECT_EQ(v.entries(entry_kind::resource).size(), 1U);
  EXPECT_TRUE(v.admits_uri("k8s+k8s://pods"));
}

TEST(view, fingerprints_change_only_when_what_the_session_sees_changes) {
  const auto group = std::make_shared<name_filter>(std::vector<std::string>{"k8s__get_*"}, std::vector<std::string>{});
  const view before(catalog_of({tool("get_pods"), tool("delete_pod")}, {}, 1), {group}, {});
  // delete_pod changed, but this view never showed it.
  const view hidden_change(catalog_of({tool("get_pods"), tool("delete_pod", "changed")}, {}, 2), {group}, {});
  EXPECT_TRUE(changed_kinds(before, hidden_change).empty());
  const view visible_change(catalog_of({tool("get_pods", "changed"), tool("delete_pod")}, {}, 3), {group}, {});
  EXPECT_EQ(changed_kinds(before, visible_change), std::vector<entry_kind>{entry_kind::tool});
  const view added(catalog_of({tool("get_pods"), tool("delete_pod"), tool("get_nodes")}, {}, 4), {group}, {});
  EXPECT_EQ(changed_kinds(before, added), std::vector<entry_kind>{entry_kind::tool});
}

TEST(view, meta_mode_counts_only_the_visible_tools) {
  const auto c = catalog_of({tool("a"), tool("b"), tool("c"), tool("d")});
  const auto two = std::make_shared<only>(std::set<std::string>{"k8s__a", "k8s__b"});
  EXPECT_FALSE(view(c, {two}, {2, true}).meta_mode());
  EXPECT_TRUE(view(c, {}, {2, true}).meta_mode());
  EXPECT_FALSE(view(c, {}, {2, false}).meta_mode()) << "meta tools off";
  EXPECT_FALSE(view(c, {}, {0, true}).meta_mode()) << "no cap";
}

TEST(view, keeps_its_catalog_alive) {
  auto c = catalog_of({tool("a")});
  const view v(c, {}, {});
  c.reset();
  EXPECT_EQ(v.tool("k8s__a")->original, "a");
}

}  // namespace
}  // namespace manifold::ns
