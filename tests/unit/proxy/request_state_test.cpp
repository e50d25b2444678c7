// The requestState manifold seals for bridged multi-round-trip calls (request_state.hpp):
// round trip, tampering, another principal, method or arguments, expiry, rounds, and the
// digest of a request.
#include <gtest/gtest.h>

#include "manifold/proxy/key_ring.hpp"
#include "request_state.hpp"

namespace manifold::proxy {
namespace {

using protocol::json;

constexpr std::int64_t now = 1'800'000'000;

request_state sample(std::uint64_t round = 1) {
  request_state s;
  s.call = "0123456789abcdef0123456789abcdef";
  s.round = round;
  s.subject = std::string("alice") + '\x1f';
  s.method = "tools/call";
  s.digest = request_digest("tools/call", json{{"name", "ask"}, {"arguments", {{"x", 1}}}});
  s.expires = now + 600;
  return s;
}

TEST(request_state, round_trips) {
  const request_state_codec codec;
  const auto s = sample(3);
  const auto token = codec.seal(s);
  const auto opened = codec.open(token, s.subject, s.method, s.digest, now);
  ASSERT_TRUE(opened.state) << to_string(opened.why);
  EXPECT_EQ(opened.state->call, s.call);
  EXPECT_EQ(opened.state->round, 3U);
  EXPECT_EQ(opened.state->expires, s.expires);
  EXPECT_EQ(token.find(s.call), std::string::npos) << "the call id is not readable in the token";
}

TEST(request_state, every_seal_differs_and_rounds_are_bound) {
  const request_state_codec codec;
  const auto one = codec.seal(sample(1));
  const auto again = codec.seal(sample(1));
  const auto two = codec.seal(sample(2));
  EXPECT_NE(one, again);
  EXPECT_NE(one, two);
  const auto s = sample();
  EXPECT_EQ(codec.open(one, s.subject, s.method, s.digest, now).state->round, 1U);
  EXPECT_EQ(codec.open(two, s.subject, s.method, s.digest, now).state->round, 2U);
}

TEST(request_state, tampering_is_refused) {
  const request_state_codec codec;
  const auto s = sample();
  const auto token = codec.seal(s);
  EXPECT_EQ(codec.open(token + "-TAMPERED", s.subject, s.method, s.digest, now).why,
            request_state_codec::problem::malformed);
  auto flipped = token;
  auto& c = flipped[flipped.size() / 2 + 8];
  c = c == 'A' ? 'B' : 'A';
  const auto opened = codec.open(flipped, s.subject, s.method, s.digest, now);
  EXPECT_FALSE(opened.state);
  EXPECT_NE(opened.why, request_state_codec::problem::none);
  EXPECT_FALSE(codec.open("", s.subject, s.method, s.digest, now).state);
  EXPECT_FALSE(codec.open("not a token", s.subject, s.method, s.digest, now).state);
}

TEST(request_state, another_process_key_does_not_open_it) {
  const request_state_codec mine;
  const request_state_codec theirs;
  const auto s = sample();
  const auto opened = theirs.open(mine.seal(s), s.subject, s.method, s.digest, now);
  EXPECT_FALSE(opened.state);
  EXPECT_EQ(opened.why, request_state_codec::problem::forged);
}

TEST(request_state, a_token_for_another_purpose_does_not_open) {
  auto ring = std::make_shared<const key_ring>(std::vector<session_key>{{"p", std::string(32, 'k')}});
  const request_state_codec codec(ring);
  const auto s = sample();
  EXPECT_FALSE(codec.open(ring->seal("s1", "{}"), s.subject, s.method, s.digest, now).state);
  EXPECT_TRUE(codec.open(codec.seal(s), s.subject, s.method, s.digest, now).state);
}

TEST(request_state, wrong_principal_method_or_arguments_are_refused) {
  const request_state_codec codec;
  const auto s = sample();
  const auto token = codec.seal(s);
  EXPECT_EQ(codec.open(token, std::string("mallory") + '\x1f', s.method, s.digest, now).why,
            request_state_codec::problem::wrong_subject);
  EXPECT_EQ(codec.open(token, s.subject, "prompts/get", s.digest, now).why,
            request_state_codec::problem::wrong_request);
  const auto other = request_digest("tools/call", json{{"name", "ask"}, {"arguments", {{"x", 2}}}});
  EXPECT_EQ(codec.open(token, s.subject, s.method, other, now).why, request_state_codec::problem::wrong_request);
}

TEST(request_state, expiry_is_enforced) {
  const request_state_codec codec;
  const auto s = sample();
  const auto token = codec.seal(s);
  EXPECT_TRUE(codec.open(token, s.subject, s.method, s.digest, s.expires - 1).state);
  EXPECT_EQ(codec.open(token, s.subject, s.method, s.digest, s.expires).why, request_state_codec::problem::expired);
}

TEST(request_digest, covers_name_uri_and_arguments_but_not_meta_or_mrtr_fields) {
  const json base{{"name", "ask"}, {"arguments", {{"a", 1}, {"b", "x"}}}};
  const auto digest = request_digest("tools/call", base);
  EXPECT_EQ(digest.size(), 64U);
  // Key order does not matter (canonical JSON), nor _meta or the retry fields.
  auto reordered = json::parse(R"({"arguments":{"b":"x","a":1},"name":"ask","_meta":{"progressToken":7}})");
  EXPECT_EQ(request_digest("tools/call", reordered), digest);
  EXPECT_NE(request_digest("tools/call", json{{"name", "other"}, {"arguments", base["arguments"]}}), digest);
  EXPECT_NE(request_digest("prompts/get", base), digest);
  // No arguments and empty arguments are the same request.
  EXPECT_EQ(request_digest("tools/call", json{{"name", "ask"}}),
            request_digest("tools/call", json{{"name", "ask"}, {"arguments", json::object()}}));
  EXPECT_NE(request_digest("resources/read", json{{"uri", "a://1"}}),
            request_digest("resources/read", json{{"uri", "a://2"}}));
}

}  // namespace
}  // namespace manifold::proxy
