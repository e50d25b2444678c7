#include "manifold/protocol/line_framer.hpp"

#include <gtest/gtest.h>

namespace manifold::protocol {
namespace {

std::vector<frame> drain(line_framer& f) {
  std::vector<frame> out;
  while (auto fr = f.next()) out.push_back(std::move(*fr));
  return out;
}

TEST(line_framer, splits_lines_across_arbitrary_reads) {
  line_framer f;
  const std::string stream = "{\"a\":1}\n{\"b\":2}\r\n{\"c\":3}\n";
  std::vector<frame> frames;
  for (char c : stream) {  // one byte at a time: the worst split
    f.append(std::string_view(&c, 1));
    for (auto& fr : drain(f)) frames.push_back(std::move(fr));
  }
  ASSERT_EQ(frames.size(), 3U);
  EXPECT_EQ(frames[0].text, "{\"a\":1}");
  EXPECT_EQ(frames[1].text, "{\"b\":2}");  // \r dropped
  EXPECT_EQ(frames[2].text, "{\"c\":3}");
  EXPECT_EQ(f.pending(), 0U);
}

TEST(line_framer, skips_blank_lines) {
  line_framer f;
  f.append("\n\n  \r\n{}\n\t\n");
  const auto frames = drain(f);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].text, "{}");
}

TEST(line_framer, reports_an_oversized_line_once_and_recovers) {
  line_framer f(16);
  f.append(std::string(10, 'a'));
  EXPECT_FALSE(f.next());
  f.append(std::string(10, 'b'));  // now over the limit without a newline: discarding
  EXPECT_FALSE(f.next());
  f.append(std::string(100, 'c'));
  EXPECT_FALSE(f.next());
  EXPECT_LT(f.pending(), 16U) << "an oversized line is never buffered whole";
  f.append("c\nok\n");
  auto frames = drain(f);
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_TRUE(frames[0].oversized);
  EXPECT_EQ(frames[0].size, 121U);
  EXPECT_FALSE(frames[1].oversized);
  EXPECT_EQ(frames[1].text, "ok");
}

TEST(line_framer, an_oversized_line_in_one_read_is_reported) {
  line_framer f(8);
  f.append("0123456789\nshort\n");
  auto frames = drain(f);
  ASSERT_EQ(frames.size(), 2U);
  EXPECT_TRUE(frames[0].oversized);
  EXPECT_EQ(frames[0].size, 10U);
  EXPECT_EQ(frames[1].text, "short");
}

TEST(line_framer, a_line_exactly_at_the_limit_is_accepted) {
  line_framer f(8);
  f.append("12345678\n");
  auto frames = drain(f);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_FALSE(frames[0].oversized);
}

TEST(line_framer, finish_returns_an_unterminated_last_line) {
  line_framer f;
  f.append("{\"x\":1}\n{\"y\":");
  EXPECT_EQ(drain(f).size(), 1U);
  f.append("2}");
  const auto last = f.finish();
  ASSERT_TRUE(last);
  EXPECT_EQ(last->text, "{\"y\":2}");
  EXPECT_FALSE(f.finish());
}

TEST(line_framer, passes_garbage_through_for_the_parser_to_reject) {
  line_framer f;
  f.append(std::string("\x01\x02garbage\xff\n", 11));
  const auto frames = drain(f);
  ASSERT_EQ(frames.size(), 1U);
  EXPECT_EQ(frames[0].text.size(), 10U);
}

TEST(line_framer, many_lines_in_one_read_keep_their_order) {
  line_framer f;
  std::string chunk;
  for (int i = 0; i < 1000; ++i) chunk += std::to_string(i) + "\n";
  f.append(chunk);
  const auto frames = drain(f);
  ASSERT_EQ(frames.size(), 1000U);
  for (int i = 0; i < 1000; ++i) EXPECT_EQ(frames[static_cast<std::size_t>(i)].text, std::to_string(i));
}

}  // namespace
}  // namespace manifold::protocol
