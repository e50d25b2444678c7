// The globs of `faults:` (server and tool names).
#include <gtest/gtest.h>

#include "manifold/upstream/supervised_upstream.hpp"

namespace manifold::upstream {
namespace {

TEST(glob_match, stars_and_question_marks) {
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("*", "anything"));
  EXPECT_TRUE(glob_match("read_*", "read_file"));
  EXPECT_FALSE(glob_match("read_*", "write_file"));
  EXPECT_TRUE(glob_match("*_file", "read_file"));
  EXPECT_TRUE(glob_match("r?ad*e", "read_file"));
  EXPECT_FALSE(glob_match("r?ad", "rad"));
  EXPECT_TRUE(glob_match("a*b*c", "axxbyyc"));
  EXPECT_FALSE(glob_match("a*b*c", "axxbyy"));
  EXPECT_TRUE(glob_match("echo", "echo"));
  EXPECT_FALSE(glob_match("echo", "echo2"));
  EXPECT_TRUE(glob_match("**", "x"));
}

}  // namespace
}  // namespace manifold::upstream
