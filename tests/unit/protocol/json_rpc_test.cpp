#include "manifold/protocol/json_rpc.hpp"

#include <gtest/gtest.h>

#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/protocol_version.hpp"

namespace manifold::protocol {
namespace {

struct malformed_case {
  const char* text;
  int code;
  json expected_id;
};

class malformed : public ::testing::TestWithParam<malformed_case> {};

TEST_P(malformed, is_answered_with_the_right_error) {
  const auto& c = GetParam();
  const auto out = parse_message(c.text);
  ASSERT_FALSE(out.msg) << c.text;
  ASSERT_TRUE(out.error_reply);
  EXPECT_EQ((*out.error_reply)["jsonrpc"], "2.0");
  EXPECT_EQ((*out.error_reply)["error"]["code"], c.code) << c.text;
  EXPECT_EQ((*out.error_reply)["id"], c.expected_id) << c.text;
  EXPECT_TRUE((*out.error_reply)["error"]["message"].is_string());
}

INSTANTIATE_TEST_SUITE_P(
    table, malformed,
    ::testing::Values(
        malformed_case{"not json", error_code::parse_error, nullptr},
        malformed_case{"{\"jsonrpc\":\"2.0\",", error_code::parse_error, nullptr},
        malformed_case{"", error_code::parse_error, nullptr},
        malformed_case{"\"\xff\xfe\"", error_code::parse_error, nullptr},
        malformed_case{"42", error_code::invalid_request, nullptr},
        malformed_case{"[]", error_code::invalid_request, nullptr},
        malformed_case{"[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", error_code::invalid_request, nullptr},
        malformed_case{"{}", error_code::invalid_request, nullptr},
        malformed_case{"{\"id\":1,\"method\":\"ping\"}", error_code::invalid_request, nullptr},
        malformed_case{"{\"jsonrpc\":\"1.0\",\"id\":1,\"method\":\"ping\"}", error_code::invalid_request, nullptr},
        malformed_case{"{\"jsonrpc\":2.0,\"id\":1,\"method\":\"ping\"}", error_code::invalid_request, nullptr},
        malformed_case{"{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}", error_code::invalid_request, nullptr},
        malformed_case{"{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}", error_code::invalid_request, nullptr},
        malformed_case{"{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}", error_code::invalid_request, nullptr},
        malformed_case{"{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"ping\"}", error_code::invalid_request, nullptr},
        malformed_case{"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":42}", error_code::invalid_request, 7},
        malformed_case{"{\"jsonrpc\":\"2.0\",\"id\":\"s\",\"method\":\"\"}", error_code::invalid_request, "s"},
        malformed_case{"{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"x\",\"params\":3}", error_code::invalid_request, 7},
        malformed_case{"{\"jsonrpc\":\"2.0\",\"method\":\"x\",\"params\":\"s\"}", error_code::invalid_request, nullptr},
        malformed_case{"{\"jsonrpc\":\"2.0\",\"id\":1}", error_code::invalid_request, nullptr},
        malformed_case{"{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{},\"error\":{}}", error_code::invalid_request, nullptr}));

TEST(json_rpc, classifies_valid_messages_and_keeps_them_whole) {
  auto r = parse_message(R"({"jsonrpc":"2.0","id":"abc","method":"tools/call","params":{"name":"x","_meta":{"k":1}}})");
  ASSERT_TRUE(r.msg);
  EXPECT_EQ(r.msg->kind, message_kind::request);
  EXPECT_EQ(r.msg->id(), "abc");
  EXPECT_EQ(r.msg->method(), "tools/call");
  EXPECT_EQ(r.msg->params()["_meta"]["k"], 1);

  r = parse_message(R"({"jsonrpc":"2.0","method":"notifications/initialized"})");
  ASSERT_TRUE(r.msg);
  EXPECT_EQ(r.msg->kind, message_kind::notification);
  EXPECT_EQ(r.msg->params(), json::object());

  r = parse_message(R"({"jsonrpc":"2.0","id":3,"result":{}})");
  ASSERT_TRUE(r.msg);
  EXPECT_EQ(r.msg->kind, message_kind::response);

  r = parse_message(R"({"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"x"}})");
  ASSERT_TRUE(r.msg);
  EXPECT_EQ(r.msg->kind, message_kind::error_response);
}

TEST(json_rpc, ids_round_trip_exactly) {
  for (const char* id : {"0", "-1", "9223372036854775807", "18446744073709551615", "\"\"",
                         "\"x y\"", "\"007\"", "\"\\u00e9\""}) {
    const auto text = std::string(R"({"jsonrpc":"2.0","id":)") + id + R"(,"method":"ping"})";
    const auto r = parse_message(text);
    ASSERT_TRUE(r.msg) << id;
    const auto reply = serialize(make_result(r.msg->id(), json::object()));
    EXPECT_NE(reply.find(std::string("\"id\":") + json::parse(id).dump()), std::string::npos)
        << reply;
    EXPECT_EQ(json::parse(reply)["id"], json::parse(id));
  }
}

TEST(json_rpc, errors_carry_code_message_and_data) {
  const auto e = make_error(5, {error_code::invalid_params, "bad", json{{"field", "x"}}});
  EXPECT_EQ(e["error"]["code"], -32602);
  EXPECT_EQ(e["error"]["data"]["field"], "x");
  const auto back = rpc_error::from_json(e["error"]);
  EXPECT_EQ(back.code, -32602);
  EXPECT_EQ(back.message, "bad");
  EXPECT_EQ(rpc_error::from_json(json("garbage")).code, error_code::internal_error);
}

TEST(json_rpc, serialize_is_one_line_and_never_throws_on_bad_utf8) {
  json j = {{"text", std::string("a\nb\xff")}};
  const auto s = serialize(j);
  EXPECT_EQ(s.find('\n'), std::string::npos);
}

TEST(protocol_version, negotiation) {
  EXPECT_EQ(negotiate_version("2024-11-05"), "2024-11-05");
  EXPECT_EQ(negotiate_version("2025-03-26"), "2025-03-26");
  EXPECT_EQ(negotiate_version("2025-06-18"), "2025-06-18");
  EXPECT_EQ(negotiate_version("2025-11-25"), "2025-11-25");
  EXPECT_EQ(negotiate_version("2099-01-01"), "2025-11-25");
  EXPECT_EQ(negotiate_version(""), "2025-11-25");
}

}  // namespace
}  // namespace manifold::protocol

namespace manifold::protocol {
namespace {

TEST(peek_kind, tells_the_kind_from_top_level_names_only) {
  EXPECT_EQ(peek_kind(R"({"id":1,"jsonrpc":"2.0","method":"tools/call","params":{}})"), message_kind::request);
  EXPECT_EQ(peek_kind(R"( {"jsonrpc":"2.0","method":"notifications/progress","params":{"result":1}})"),
            message_kind::notification);
  EXPECT_EQ(peek_kind(R"({"id":"a","jsonrpc":"2.0","result":{"method":"x","id":2}})"), message_kind::response);
  EXPECT_EQ(peek_kind(R"({"error":{"code":-32601,"message":"no \"method\": here"},"id":3,"jsonrpc":"2.0"})"),
            message_kind::error_response);
  // Names inside strings and nested objects do not count.
  EXPECT_EQ(peek_kind(R"({"id":4,"jsonrpc":"2.0","result":{"content":[{"text":"\"method\":1"}]}})"),
            message_kind::response);
  EXPECT_EQ(peek_kind(R"({"data":{"method":"m","result":1}})"), std::nullopt);
  EXPECT_EQ(peek_kind("[1,2]"), std::nullopt);
  EXPECT_EQ(peek_kind(""), std::nullopt);
  // Agrees with the full parser on what each built message is.
  for (const auto& m : {make_request(7, "ping", json::object()), make_notification("n", nullptr),
                        make_result("x", json{{"error", 1}}), make_error(8, {-1, "e", json{{"method", 2}}})}) {
    const auto text = serialize(m);
    EXPECT_EQ(peek_kind(text), parse_message(text).msg->kind) << text;
  }
}

}  // namespace
}  // namespace manifold::protocol
