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

// Hardening 15: a default that is itself a ${...} is expanded, not left as literal text.
TEST(interpolate, defaults_may_nest) {
  EXPECT_EQ(interpolate("${UNSET:-${HOME}}/x", env).value, "/root/x");
  EXPECT_EQ(interpolate("${UNSET:-${ALSO_UNSET:-deep}}", env).value, "deep");
  EXPECT_EQ(interpolate("${HOME:-${UNSET}}", env).value, "/root") << "an unused default is not expanded";
  EXPECT_NE(interpolate("${UNSET:-${ALSO_UNSET}}", env).error.find("ALSO_UNSET is not set"), std::string::npos);
  EXPECT_NE(interpolate("${UNSET:-${HOME}", env).error.find("unterminated"), std::string::npos);
  std::string deep = "x";
  for (int i = 0; i < 20; ++i) deep = "${U" + std::to_string(i) + ":-" + deep + "}";
  EXPECT_NE(interpolate(deep, env).error.find("nested more than"), std::string::npos);
}

TEST(interpolate, errors_name_the_problem) {
  EXPECT_NE(interpolate("${UNSET}", env).error.find("UNSET is not set"), std::string::npos);
  EXPECT_NE(interpolate("${HOME", env).error.find("unterminated"), std::string::npos);
  EXPECT_NE(interpolate("${1BAD}", env).error.find("invalid variable name"), std::string::npos);
  EXPECT_NE(interpolate("${}", env).error.find("invalid variable name"), std::string::npos);
}

}  // namespace
}  // namespace manifold::config
