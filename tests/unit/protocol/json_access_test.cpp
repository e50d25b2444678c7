#include <gtest/gtest.h>

#include <limits>

#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/json_rpc.hpp"

namespace manifold::protocol {
namespace {

std::string nested(std::size_t depth, char open, char close) {
  return std::string(depth, open) + std::string(depth, close);
}

TEST(json_access, nesting_at_the_limit_parses_and_one_more_level_is_refused) {
  EXPECT_TRUE(parse_json(nested(max_json_depth, '[', ']')).ok());
  const auto deep = parse_json(nested(max_json_depth + 1, '[', ']'));
  EXPECT_EQ(deep.problem, json_problem::too_deep);
  EXPECT_TRUE(deep.value.is_discarded());
}

TEST(json_access, eighty_five_thousand_levels_are_refused_without_building_them) {
  std::string text = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":";
  for (int i = 0; i < 85'000; ++i) text += "{\"a\":";
  text += "1";
  text.append(85'000, '}');
  text += "}";
  EXPECT_EQ(parse_json(text).problem, json_problem::too_deep);
  const auto outcome = parse_message(text);
  ASSERT_FALSE(outcome.msg);
  EXPECT_EQ((*outcome.error_reply)["error"]["code"], -32700);
}

TEST(json_access, integers_beyond_64_bits_are_refused_and_others_kept_exactly) {
  EXPECT_EQ(parse_json("[18446744073709551616]").problem, json_problem::integer_too_large);
  EXPECT_EQ(parse_json("[-9223372036854775809]").problem, json_problem::integer_too_large);
  const auto big = parse_json("[18446744073709551615, -9223372036854775808, 1.5e300, 2.0]");
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(big.value.dump(), "[18446744073709551615,-9223372036854775808,1.5e+300,2.0]");
}

TEST(json_access, syntax_errors_say_so) {
  EXPECT_EQ(parse_json("{").problem, json_problem::syntax);
  EXPECT_EQ(parse_json("").problem, json_problem::syntax);
  EXPECT_EQ(parse_json("[1,]").problem, json_problem::syntax);
  EXPECT_FALSE(parse_json("nul").why().empty());
}

TEST(json_access, checked_members_never_throw_on_wrong_types) {
  const auto doc = json::parse(R"({"s":"x","n":3,"b":true,"o":{},"a":[],"null":null,"u":18446744073709551615})");
  EXPECT_EQ(string_member(doc, "s"), "x");
  EXPECT_FALSE(string_member(doc, "n"));
  EXPECT_EQ(integer_member(doc, "n"), 3);
  EXPECT_FALSE(integer_member(doc, "s"));
  EXPECT_FALSE(integer_member(doc, "u"));  // does not fit int64
  EXPECT_EQ(bool_member(doc, "b"), true);
  EXPECT_NE(object_member(doc, "o"), nullptr);
  EXPECT_EQ(object_member(doc, "a"), nullptr);
  EXPECT_NE(array_member(doc, "a"), nullptr);
  EXPECT_EQ(member(doc, "missing"), nullptr);
  EXPECT_NE(member(doc, "null"), nullptr);
  EXPECT_EQ(string_or(doc, "null", "fallback"), "fallback");
  for (const auto& not_object : {json(3), json::array({1}), json("s"), json()}) {
    EXPECT_EQ(member(not_object, "s"), nullptr);
    EXPECT_FALSE(string_member(not_object, "s"));
    EXPECT_EQ(string_or(not_object, "s", "d"), "d");
  }
}

TEST(json_access, whole_numbers_are_exact_integers_whatever_their_json_type) {
  EXPECT_EQ(whole_number(json(3)), 3);
  EXPECT_EQ(whole_number(json(3.0)), 3);
  EXPECT_EQ(whole_number(json(-42.0)), -42);
  EXPECT_EQ(whole_number(json(9007199254740991.0)), 9007199254740991);
  EXPECT_FALSE(whole_number(json(9007199254740992.0)));  // past 2^53 - 1 a double is not exact
  EXPECT_FALSE(whole_number(json(3.5)));
  EXPECT_FALSE(whole_number(json(1e300)));
  EXPECT_FALSE(whole_number(json(std::numeric_limits<double>::quiet_NaN())));
  EXPECT_FALSE(whole_number(json(18446744073709551615ULL)));
  EXPECT_FALSE(whole_number(json("3")));
}

TEST(json_access, scalar_text_writes_what_an_argv_slot_or_header_carries) {
  EXPECT_EQ(scalar_text(json("a b")), "a b");
  EXPECT_EQ(scalar_text(json(true)), "true");
  EXPECT_EQ(scalar_text(json(false)), "false");
  EXPECT_EQ(scalar_text(json(7)), "7");
  EXPECT_EQ(scalar_text(json(18446744073709551615ULL)), "18446744073709551615");
  EXPECT_EQ(scalar_text(json(3.0)), "3");
  EXPECT_EQ(scalar_text(json(2.5)), "2.5");
  EXPECT_EQ(scalar_text(json(1e300)), "1e+300");
  EXPECT_FALSE(scalar_text(json()));
  EXPECT_FALSE(scalar_text(json::array({1})));
  EXPECT_FALSE(scalar_text(json::object()));
}

}  // namespace
}  // namespace manifold::protocol
