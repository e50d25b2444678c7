// Sealed session ids without sockets: the key ring (AES-256-GCM, rotation), the session
// state in and out of a token (expiry, trimming, tampering), reply routes, and the bounded
// list of ended sessions.
#include <gtest/gtest.h>

#include "ended_sessions.hpp"
#include "http_channel.hpp"
#include "manifold/protocol/text.hpp"
#include "manifold/proxy/key_ring.hpp"
#include "sealed_session.hpp"

namespace manifold::proxy {
namespace {

using protocol::json;

session_key key(std::string id, char fill) { return {std::move(id), std::string(32, fill)}; }

sealed_session sample() {
  sealed_session s;
  s.sid = "0123456789abcdef0123456789abcdef";
  s.principal = "alice";
  s.group = "readonly";
  s.protocol_version = "2025-06-18";
  s.client_capabilities = json{{"sampling", json::object()}, {"roots", {{"listChanged", true}}}};
  s.client_info = json{{"name", "test-client"}, {"version", "1.0"}};
  s.log_level = "debug";
  s.subscriptions = {"file:///a", "kb://doc/1"};
  s.created = 1000;
  s.expires = 1000 + 3600;
  return s;
}

TEST(key_ring, seals_with_the_first_key_and_opens_with_any) {
  const key_ring old_ring({key("k1", 'a')});
  const key_ring rotated({key("k2", 'b'), key("k1", 'a')});
  const auto by_old = old_ring.seal("s1", "hello");
  EXPECT_EQ(by_old.rfind("s1.k1.", 0), 0U);
  const auto opened = rotated.open("s1", by_old);
  ASSERT_TRUE(opened.plaintext);
  EXPECT_EQ(*opened.plaintext, "hello");
  EXPECT_EQ(opened.key_id, "k1");
  const auto by_new = rotated.seal("s1", "again");
  EXPECT_EQ(by_new.rfind("s1.k2.", 0), 0U);
  const auto unknown = old_ring.open("s1", by_new);
  EXPECT_FALSE(unknown.plaintext);
  EXPECT_EQ(unknown.why, key_ring::failure::unknown_key);
  EXPECT_NE(rotated.seal("s1", "x"), rotated.seal("s1", "x")) << "a fresh nonce each time";
}

TEST(key_ring, tampering_another_purpose_or_a_key_of_the_same_name_never_opens) {
  const key_ring ring({key("k1", 'a')});
  auto token = ring.seal("s1", "payload");
  // A character in the middle carries six whole bits; the last one may carry padding bits,
  // and a non-canonical tail is refused earlier, as malformed.
  auto flipped = token;
  auto& middle = flipped[token.size() - 8];
  middle = middle == 'A' ? 'B' : 'A';
  EXPECT_EQ(ring.open("s1", flipped).why, key_ring::failure::forged);
  auto tail = token;
  tail.back() = tail.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ring.open("s1", tail).plaintext);
  EXPECT_EQ(ring.open("r1", token).why, key_ring::failure::wrong_purpose);
  auto renamed = "s2" + token.substr(2);
  EXPECT_FALSE(ring.open("s2", renamed).plaintext) << "the purpose is authenticated";
  const key_ring impostor({key("k1", 'z')});
  EXPECT_EQ(impostor.open("s1", token).why, key_ring::failure::forged);
  for (const auto* junk : {"", "s1", "s1.k1", "s1.k1.", "s1.k1.!!!", "s1..AAAA", "s1.k1.AAAA"}) {
    EXPECT_FALSE(ring.open("s1", junk).plaintext) << junk;
  }
}

TEST(key_ring, refuses_bad_rings) {
  using ring = std::vector<session_key>;
  EXPECT_THROW(key_ring(ring{}), std::invalid_argument);
  EXPECT_THROW(key_ring(ring{session_key{"k1", "short"}}), std::invalid_argument);
  EXPECT_THROW(key_ring(ring{key("k1", 'a'), key("k1", 'b')}), std::invalid_argument);
  EXPECT_THROW(key_ring(ring{key("k.1", 'a')}), std::invalid_argument);
}

TEST(sealed_session, round_trip_until_it_expires) {
  const key_ring ring({key("k1", 'a')});
  const auto state = sample();
  const auto token = seal_session(ring, state);
  EXPECT_TRUE(looks_sealed(token));
  EXPECT_FALSE(looks_sealed(state.sid));
  const auto opened = open_session_token(ring, token, 2000);
  ASSERT_TRUE(opened.state) << opened.problem;
  EXPECT_EQ(*opened.state, state);
  EXPECT_EQ(opened.key_id, "k1");
  EXPECT_EQ(token.find("alice"), std::string::npos) << "the state is encrypted, not only signed";
  const auto late = open_session_token(ring, token, state.expires);
  EXPECT_FALSE(late.state);
  EXPECT_TRUE(late.expired);
}

TEST(sealed_session, a_state_too_large_is_trimmed_in_order_then_refused) {
  const key_ring ring({key("k1", 'a')});
  auto state = sample();
  state.client_info["description"] = std::string(3000, 'd');
  bool trimmed = false;
  auto token = seal_session(ring, state, &trimmed);
  ASSERT_FALSE(token.empty());
  EXPECT_TRUE(trimmed);
  EXPECT_LE(token.size(), max_session_token);
  auto opened = open_session_token(ring, token, 2000);
  ASSERT_TRUE(opened.state);
  EXPECT_EQ(opened.state->client_info, (json{{"name", "test-client"}, {"version", "1.0"}}));
  EXPECT_EQ(opened.state->subscriptions, state.subscriptions) << "subscriptions kept while they fit";

  for (int i = 0; i < 100; ++i) state.subscriptions.push_back("file:///" + std::string(40, 'x') + std::to_string(i));
  token = seal_session(ring, state, &trimmed);
  ASSERT_FALSE(token.empty());
  opened = open_session_token(ring, token, 2000);
  ASSERT_TRUE(opened.state);
  EXPECT_TRUE(opened.state->subscriptions.empty());

  state.principal = std::string(5000, 'p');
  EXPECT_TRUE(seal_session(ring, state).empty()) << "what cannot be left out does not fit";
}

TEST(sealed_session, a_token_of_another_kind_does_not_open_as_a_session) {
  const key_ring ring({key("k1", 'a')});
  const auto not_state = ring.seal("s1", R"({"v":1,"sid":"x"})");
  EXPECT_FALSE(open_session_token(ring, not_state, 0).state) << "missing fields";
  EXPECT_FALSE(open_session_token(ring, ring.seal("s1", "[1,2"), 0).state);
  const auto route = route_prefix(ring, "http://127.0.0.1:1", "i1");
  EXPECT_FALSE(open_session_token(ring, route, 0).state);
}

TEST(reply_route, names_the_replica_and_channel_and_cannot_be_forged) {
  const key_ring ring({key("k1", 'a')});
  const auto prefix = route_prefix(ring, "http://127.0.0.1:4000", "abc123");
  const auto route = open_route(ring, prefix + ":ch01:42");
  ASSERT_TRUE(route);
  EXPECT_EQ(route->address, "http://127.0.0.1:4000");
  EXPECT_EQ(route->instance, "abc123");
  EXPECT_EQ(route->channel, "ch01");
  EXPECT_EQ(route->id, 42);
  EXPECT_FALSE(open_route(ring, prefix + ":ch01:x"));
  EXPECT_FALSE(open_route(ring, prefix + ":ch01:"));
  EXPECT_FALSE(open_route(ring, "42"));
  EXPECT_FALSE(open_route(ring, "r1.k1.AAAA:ch01:42"));
  const key_ring other({key("k9", 'q')});
  EXPECT_FALSE(open_route(other, prefix + ":ch01:42"));
}

TEST(ended_sessions, remembered_until_their_ids_expire_and_bounded) {
  ended_sessions ended(2);
  ended.add("a", 100, 10);
  ended.add("b", 50, 10);
  EXPECT_TRUE(ended.contains("a"));
  EXPECT_TRUE(ended.contains("b"));
  ended.add("c", 200, 10);
  EXPECT_FALSE(ended.contains("b")) << "full: the one closest to expiring goes";
  EXPECT_TRUE(ended.contains("a"));
  EXPECT_TRUE(ended.contains("c"));
  ended.add("d", 300, 150);
  EXPECT_FALSE(ended.contains("a")) << "expired entries are pruned";
  EXPECT_TRUE(ended.contains("c"));
  EXPECT_TRUE(ended.contains("d"));
  ended.add("e", 100, 150);
  EXPECT_FALSE(ended.contains("e")) << "an id already expired needs no entry";
  EXPECT_EQ(ended.size(), 2U);
  ended_sessions none(0);
  none.add("x", 100, 10);
  EXPECT_FALSE(none.contains("x"));
}

TEST(stream_ids, name_their_process_and_carry_short_request_ids) {
  http_channel channel("sid", 16, 1 << 20, false, "inst01");
  const auto* standalone = channel.standalone().get();
  const auto name = http_channel::parse_stream_id(standalone->id());
  ASSERT_TRUE(name);
  EXPECT_EQ(name->instance, "inst01");
  EXPECT_TRUE(name->standalone);
  EXPECT_FALSE(name->request_id);

  for (const auto& id : {json(42), json("call-7")}) {
    const auto stream = channel.expect_stream(id.dump());
    ASSERT_TRUE(stream);
    const auto parsed = http_channel::parse_stream_id(stream->id());
    ASSERT_TRUE(parsed) << stream->id();
    EXPECT_EQ(parsed->instance, "inst01");
    EXPECT_FALSE(parsed->standalone);
    ASSERT_TRUE(parsed->request_id);
    EXPECT_EQ(*parsed->request_id, id);
  }
  const auto long_id = json(std::string(300, 'x'));
  const auto stream = channel.expect_stream(long_id.dump());
  ASSERT_TRUE(stream);
  const auto parsed = http_channel::parse_stream_id(stream->id());
  ASSERT_TRUE(parsed);
  EXPECT_FALSE(parsed->request_id) << "too long to carry";

  for (const auto* junk : {"", "-g1", "inst", "inst-", "inst-q1", "inst-r1-!!", "inst-r1-e30"}) {
    EXPECT_FALSE(http_channel::parse_stream_id(junk)) << junk;
  }
}

}  // namespace
}  // namespace manifold::proxy
