#include "manifold/proxy/meta_tools.hpp"
#include "manifold/proxy/pagination.hpp"

#include <gtest/gtest.h>

namespace manifold::proxy {
namespace {

TEST(pagination, cursors_round_trip_for_their_list_and_generation) {
  const auto c = encode_cursor("tools/list", 7, 250);
  EXPECT_EQ(decode_cursor(c, "tools/list", 7), 250U);
  EXPECT_EQ(decode_cursor(encode_cursor("tools/list", 0, 0), "tools/list", 0), 0U);
}

TEST(pagination, cursors_are_refused_for_another_list_generation_or_when_forged) {
  const auto c = encode_cursor("tools/list", 7, 250);
  EXPECT_FALSE(decode_cursor(c, "prompts/list", 7));
  EXPECT_FALSE(decode_cursor(c, "tools/list", 8));
  EXPECT_FALSE(decode_cursor("", "tools/list", 7));
  EXPECT_FALSE(decode_cursor("garbage!", "tools/list", 7));
  EXPECT_FALSE(decode_cursor(std::string(500, 'A'), "tools/list", 7));
  std::string tampered = c;
  tampered[tampered.size() / 2] = tampered[tampered.size() / 2] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(decode_cursor(tampered, "tools/list", 7));
}

TEST(pagination, cursors_are_opaque_text) {
  const auto c = encode_cursor("resources/list", 123456789, 1000000);
  for (const char ch : c) EXPECT_TRUE(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '_');
}

TEST(meta_tools, search_ranks_name_matches_over_description_matches) {
  std::vector<ns::exposed_entry> tools{
      {"fs__read_file", "fs", "read_file", {{"description", "Read a file from disk."}}, {}, {}, nullptr, nullptr},
      {"kb__search", "kb", "search", {{"description", "Search documents; can read file attachments."}}, {}, {}, nullptr, nullptr},
      {"git__log", "git", "log", {{"description", "Show history."}}, {}, {}, nullptr, nullptr}};
  std::vector<const ns::exposed_entry*> all;
  for (const auto& t : tools) all.push_back(&t);
  const auto hits = search_tools(all, "read file", 10);
  ASSERT_EQ(hits.size(), 2U);
  EXPECT_EQ(hits[0]->name, "fs__read_file");
  EXPECT_EQ(hits[1]->name, "kb__search");
  EXPECT_TRUE(search_tools(all, "kubernetes", 10).empty());
  EXPECT_EQ(search_tools(all, "", 2).size(), 2U);
  EXPECT_EQ(meta_tool_definitions().size(), 3U);
  EXPECT_TRUE(is_meta_tool("call_tool"));
}

}  // namespace
}  // namespace manifold::proxy
