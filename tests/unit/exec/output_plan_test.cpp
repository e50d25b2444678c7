// The output cap and the plan store.
#include <gtest/gtest.h>

#include "manifold/exec/output_buffer.hpp"
#include "manifold/exec/plan_store.hpp"

namespace manifold::exec {
namespace {

using config::keep_part;

TEST(exec_output_buffer, keeps_the_head_with_a_marker) {
  output_buffer b(10, keep_part::head);
  b.append("0123456");
  b.append("789abcdef");
  EXPECT_TRUE(b.truncated());
  EXPECT_EQ(b.total(), 16U);
  EXPECT_EQ(b.kept(), "0123456789");
  EXPECT_EQ(b.text(), "0123456789\n[manifold: output truncated: kept the first 10 of 16 bytes]\n");
}

TEST(exec_output_buffer, keeps_the_tail_with_a_marker_and_bounded_memory) {
  output_buffer b(8, keep_part::tail);
  for (int i = 0; i < 1000; ++i) b.append("line " + std::to_string(i) + "\n");
  EXPECT_EQ(b.kept().size(), 8U);
  EXPECT_EQ(b.kept(), "ine 999\n");
  EXPECT_EQ(b.text().rfind("[manifold: output truncated: kept the last 8 of ", 0), 0U);
}

TEST(exec_output_buffer, cuts_on_character_boundaries_and_passes_small_output) {
  output_buffer tail(4, keep_part::tail);
  tail.append("x\xc3\xa9\xc3\xa9");  // x é é
  EXPECT_EQ(tail.kept(), "\xc3\xa9\xc3\xa9");
  output_buffer tail2(3, keep_part::tail);
  tail2.append("\xc3\xa9\xc3\xa9");
  EXPECT_EQ(tail2.kept(), "\xc3\xa9");
  output_buffer head(3, keep_part::head);
  head.append("\xc3\xa9\xc3\xa9");
  EXPECT_EQ(head.kept(), "\xc3\xa9");
  output_buffer small(100, keep_part::head);
  small.append("hello");
  EXPECT_EQ(small.text(), "hello");
  EXPECT_FALSE(small.truncated());
}

rendered_command command(std::vector<std::string> argv,
                         std::optional<std::string> in = std::nullopt) {
  rendered_command c;
  c.binary = "/usr/bin/kubectl";
  c.argv = std::move(argv);
  c.stdin_data = std::move(in);
  return c;
}

TEST(exec_plan_store, a_plan_runs_once_for_exactly_its_command) {
  plan_store plans;
  const auto now = plan_store::clock::now();
  const auto cmd = command({"scale", "deployment/web", "--replicas=3"});
  const auto id = plans.issue("scale", cmd, now, std::chrono::minutes(10));
  EXPECT_EQ(id.size(), 22U);
  EXPECT_EQ(plans.redeem(id, "scale", command({"scale", "deployment/web", "--replicas=30"}), now),
            plan_store::verdict::other_command);
  EXPECT_EQ(plans.redeem(id, "undo", cmd, now), plan_store::verdict::other_command);
  EXPECT_EQ(
      plans.redeem(id, "scale", command({"scale", "deployment/web", "--replicas=3"}, "x"), now),
      plan_store::verdict::other_command);
  EXPECT_EQ(plans.redeem(id, "scale", cmd, now), plan_store::verdict::accepted);
  EXPECT_EQ(plans.redeem(id, "scale", cmd, now), plan_store::verdict::spent);
  EXPECT_EQ(plans.redeem("AAAAAAAAAAAAAAAAAAAAAA", "scale", cmd, now),
            plan_store::verdict::unknown);
}

TEST(exec_plan_store, plans_expire_and_the_store_is_bounded) {
  plan_store plans(4);
  const auto now = plan_store::clock::now();
  const auto cmd = command({"undo"});
  const auto id = plans.issue("undo", cmd, now, std::chrono::seconds(1));
  EXPECT_EQ(plans.redeem(id, "undo", cmd, now + std::chrono::seconds(2)),
            plan_store::verdict::expired);
  const auto first = plans.issue("undo", cmd, now, std::chrono::seconds(5));
  for (int i = 0; i < 4; ++i) plans.issue("undo", cmd, now, std::chrono::seconds(10));
  EXPECT_EQ(plans.redeem(first, "undo", cmd, now), plan_store::verdict::unknown);  // gave way
  plan_store other;
  const auto foreign = other.issue("undo", cmd, now, std::chrono::seconds(5));
  EXPECT_NE(plans.redeem(foreign, "undo", cmd, now), plan_store::verdict::accepted);
}

}  // namespace
}  // namespace manifold::exec
