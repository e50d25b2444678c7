#include "manifold/protocol/sse_parser.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace manifold::protocol {
namespace {

std::vector<sse_event> all(sse_parser& p) {
  std::vector<sse_event> out;
  while (auto e = p.next()) out.push_back(std::move(*e));
  return out;
}

TEST(sse_parser, parses_events_split_at_any_byte) {
  const std::string stream =
      ": comment\r\nid: s1:0\r\ndata: \r\n\r\nid: s1:1\nevent: message\ndata: {\"a\":1}\n\n"
      "event: endpoint\rdata: /message?sessionId=x\r\r\n";
  sse_parser p;
  std::vector<sse_event> events;
  for (char c : stream) {
    p.append(std::string_view(&c, 1));
    for (auto& e : all(p)) events.push_back(std::move(e));
  }
  ASSERT_EQ(events.size(), 3U);
  EXPECT_EQ(events[0].id, "s1:0");
  EXPECT_EQ(events[0].data, "");  // a priming event
  EXPECT_EQ(events[1].id, "s1:1");
  EXPECT_EQ(events[1].event, "message");
  EXPECT_EQ(events[1].data, "{\"a\":1}");
  EXPECT_EQ(events[2].event, "endpoint");
  EXPECT_EQ(events[2].id, "s1:1") << "the last id carries over";
  EXPECT_EQ(events[2].data, "/message?sessionId=x");
}

TEST(sse_parser, joins_data_lines_and_reads_retry) {
  sse_parser p;
  p.append("retry: 1500\ndata: line one\ndata:line two\n\n");
  const auto events = all(p);
  ASSERT_EQ(events.size(), 1U);
  EXPECT_EQ(events[0].data, "line one\nline two");
  EXPECT_EQ(events[0].retry, 1500);
}

TEST(sse_parser, ignores_blank_events_and_unknown_fields) {
  sse_parser p;
  p.append("\n\nfoo: bar\n\n: just a keepalive\n\n");
  EXPECT_TRUE(all(p).empty());
}

TEST(sse_parser, an_endless_line_is_an_error) {
  sse_parser p(16);
  p.append("data: " + std::string(100, 'x'));
  EXPECT_FALSE(p.next());
  EXPECT_TRUE(p.error());
}

}  // namespace
}  // namespace manifold::protocol
