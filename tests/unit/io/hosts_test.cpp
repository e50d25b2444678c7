#include "manifold/io/hosts.hpp"

#include <gtest/gtest.h>

namespace manifold::io {
namespace {

TEST(hosts, loopback_only) {
  EXPECT_TRUE(is_loopback_host("localhost"));
  EXPECT_TRUE(is_loopback_host("LocalHost"));
  EXPECT_TRUE(is_loopback_host("127.0.0.1"));
  EXPECT_TRUE(is_loopback_host("[::1]"));
  EXPECT_FALSE(is_loopback_host("auth.example.com"));
  EXPECT_FALSE(is_loopback_host("localhost.example.com"));
}

TEST(hosts, lower_ascii) { EXPECT_EQ(lower_ascii("Text/Event-Stream"), "text/event-stream"); }

}  // namespace
}  // namespace manifold::io
