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


}  // namespace
}  // namespace manifold::io
