#include "manifold/config/interpolate.hpp"

#include <gtest/gtest.h>

#include <map>

namespace manifold::config {
namespace {

std::optional<std::string> env(const std::string& name) {
  static const std::map<std::string, std::string> vars{{"HOME", "/root"}, {"EMPTY", ""}};
  const auto it = vars.find(name);
  if (it == vars.end()) return std::nullopt;
  return it->second;
}

TEST(interpolate, expands_variables_and_defaults) {
  EXPECT_EQ(interpolate("${HOME}/x", env).value, "/root/x");
  EXPECT_EQ(interpolate("${UNSET:-fallback}", env).value, "fallback");
  EXPECT_EQ(interpolate("${EMPTY:-fallback}", env).value, "fallback");
  EXPECT_EQ(interpolate("${EMPTY}", env).value, "");
  EXPECT_EQ(interpolate("${UNSET:-}", env).value, "");
  EXPECT_EQ(interpolate("a${HOME}b${HOME}c", env).value, "a/rootb/rootc");
  EXPECT_EQ(interpolate("$$HOME and $${HOME}", env).value, "$HOME and ${HOME}");
  EXPECT_EQ(interpolate("cost: $5", env).value, "cost: $5");
  EXPECT_EQ(interpolate("trailing $", env).value, "trailing $");
}

TEST(interpolate, errors_name_the_problem) {
  EXPECT_NE(interpolate("${UNSET}", env).error.find("UNSET is not set"), std::string::npos);
  EXPECT_NE(interpolate("${HOME", env).error.find("unterminated"), std::string::npos);
  EXPECT_NE(interpolate("${1BAD}", env).error.find("invalid variable name"), std::string::npos);
  EXPECT_NE(interpolate("${}", env).error.find("invalid variable name"), std::string::npos);
}

}  // namespace
}  // namespace manifold::config
