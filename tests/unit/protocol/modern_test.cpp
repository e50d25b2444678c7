// MCP 2026-07-28 envelope and header checks: pure logic, no I/O.
#include "manifold/protocol/modern.hpp"

#include <gtest/gtest.h>

#include "manifold/protocol/error_codes.hpp"

namespace modern = manifold::protocol::modern;
namespace error_code = manifold::protocol::error_code;
using manifold::protocol::json;

namespace {

json enveloped(json params = json::object(), std::string version = "2026-07-28") {
  params["_meta"] = {{"io.modelcontextprotocol/protocolVersion", version},
                     {"io.modelcontextprotocol/clientCapabilities", json::object()},
                     {"progressToken", 7}};
  return params;
}

}  // namespace

TEST(modern, a_request_claims_the_modern_era_by_its_envelope_only) {
  EXPECT_TRUE(modern::claims_modern(enveloped()));
  EXPECT_FALSE(modern::claims_modern(json::object()));
  EXPECT_FALSE(modern::claims_modern(json{{"_meta", {{"progressToken", 1}}}}));
  EXPECT_FALSE(modern::claims_modern(json{{"_meta", "not an object"}}));
  EXPECT_FALSE(modern::claims_modern(json::array()));
  EXPECT_TRUE(modern::is_modern_header("2026-07-28"));
  EXPECT_TRUE(modern::is_modern_header("2099-01-01"));
  EXPECT_FALSE(modern::is_modern_header("2025-11-25"));
  EXPECT_FALSE(modern::is_modern_header(""));
}

TEST(modern, an_envelope_is_checked_missing_keys_first_then_types_then_the_version) {
  const auto ok = modern::check_envelope(enveloped());
  ASSERT_TRUE(ok.ok) << ok.error->message;
  EXPECT_EQ(ok.ok->protocol_version, "2026-07-28");
  EXPECT_TRUE(ok.ok->client_info.is_null());  // clientInfo is optional

  const auto none = modern::check_envelope(json::object());
  ASSERT_TRUE(none.error);
  EXPECT_EQ(none.error->code, error_code::invalid_params);
  EXPECT_EQ(none.error->data->at("envelope").at("missing"), json::array({"_meta"}));

  auto no_caps = enveloped();
  no_caps["_meta"].erase("io.modelcontextprotocol/clientCapabilities");
  const auto missing = modern::check_envelope(no_caps);
  ASSERT_TRUE(missing.error);
  EXPECT_EQ(missing.error->code, error_code::invalid_params);
  EXPECT_EQ(missing.error->data->at("envelope").at("missing"),
            json::array({"io.modelcontextprotocol/clientCapabilities"}));

  auto typed = enveloped();
  typed["_meta"]["io.modelcontextprotocol/clientCapabilities"] = "all";
  EXPECT_EQ(modern::check_envelope(typed).error->code, error_code::invalid_params);
  auto info = enveloped();
  info["_meta"]["io.modelcontextprotocol/clientInfo"] = 3;
  EXPECT_EQ(modern::check_envelope(info).error->code, error_code::invalid_params);
  auto level = enveloped();
  level["_meta"]["io.modelcontextprotocol/logLevel"] = json::array();
  EXPECT_EQ(modern::check_envelope(level).error->code, error_code::invalid_params);

  // A missing key wins over an unsupported version; the version error names both lists.
  const auto later = modern::check_envelope(enveloped(json::object(), "2099-01-01"));
  ASSERT_TRUE(later.error);
  EXPECT_EQ(later.error->code, error_code::unsupported_protocol_version);
  EXPECT_EQ(later.error->data->at("supported"), modern::supported_versions());
  EXPECT_EQ(later.error->data->at("requested"), "2099-01-01");
  const auto legacy = modern::check_envelope(enveloped(json::object(), "2025-11-25"));
  EXPECT_EQ(legacy.error->code, error_code::unsupported_protocol_version);
}

TEST(modern, stripping_the_envelope_keeps_every_other_meta_key) {
  auto params = enveloped(json{{"name", "x"}});
  params["_meta"]["io.modelcontextprotocol/clientInfo"] = {{"name", "host"}};
  params["_meta"]["traceparent"] = "00-abc";
  modern::strip_envelope(params);
  EXPECT_EQ(params["_meta"], (json{{"progressToken", 7}, {"traceparent", "00-abc"}}));
  auto bare = json{{"_meta", {{"io.modelcontextprotocol/protocolVersion", "2026-07-28"}}}};
  modern::strip_envelope(bare);
  EXPECT_FALSE(bare.contains("_meta"));
}

TEST(modern, header_values_are_trimmed_and_base64_sentinels_decoded) {
  EXPECT_EQ(modern::decode_header_value("  plain value\t"), "plain value");
  EXPECT_EQ(modern::decode_header_value("=?base64?SGVsbG8sIOS4lueVjA==?="), "Hello, \xe4\xb8\x96\xe7\x95\x8c");
  EXPECT_EQ(modern::decode_header_value("=?base64?IHBhZGRlZCA=?="), " padded ");
  EXPECT_EQ(modern::decode_header_value("=?base64?" "?="), "");
  EXPECT_FALSE(modern::decode_header_value("=?base64?not base64!?="));
  EXPECT_FALSE(modern::decode_header_value("=?base64?QQ=A?="));  // padding in the middle
  EXPECT_FALSE(modern::decode_header_value("=?base64?QUJD?=").value().empty());
}

TEST(modern, header_values_are_encoded_so_that_they_decode_to_what_was_sent) {
  EXPECT_EQ(modern::encode_header_value("everything__echo"), "everything__echo");
  EXPECT_EQ(modern::encode_header_value("ui://apps/get time"), "ui://apps/get time");
  for (const std::string value : {"Hello, \xe4\xb8\x96\xe7\x95\x8c", " padded ", "line\r\nbreak", "",
                                  "=?base64?looks encoded?=", "tab\there"}) {
    const auto encoded = modern::encode_header_value(value);
    EXPECT_EQ(encoded.rfind("=?base64?", 0), 0U) << value;
    EXPECT_EQ(encoded.find_first_of("\r\n"), std::string::npos) << value;
    EXPECT_EQ(modern::decode_header_value(encoded), value);
  }
}

TEST(modern, a_request_sends_the_headers_its_body_agrees_with) {
  for (const auto& [method, params] :
       {std::pair{std::string("tools/call"), enveloped(json{{"name", "d\xc3\xa9j\xc3\xa0 vu"}})},
        std::pair{std::string("resources/read"), enveloped(json{{"uri", "file:///a b"}})},
        std::pair{std::string("prompts/get"), enveloped(json{{"name", "greet"}})},
        std::pair{std::string("tools/list"), enveloped(json::object())}}) {
    const auto headers = modern::headers_for(method, params);
    EXPECT_EQ(headers.protocol_version, "2026-07-28");
    EXPECT_EQ(headers.method, method);
    EXPECT_EQ(headers.name.has_value(), method != "tools/list") << method;
    EXPECT_FALSE(modern::check_headers(headers, method, params)) << method;
  }
}

TEST(modern, headers_must_agree_with_the_body) {
  const auto params = enveloped(json{{"name", "everything__echo"}});
  modern::standard_headers h{"2026-07-28", "tools/call", "everything__echo"};
  EXPECT_FALSE(modern::check_headers(h, "tools/call", params));
  // Each disagreement, and each absence, is -32020.
  for (auto broken : {modern::standard_headers{std::nullopt, "tools/call", "everything__echo"},
                      modern::standard_headers{"2025-11-25", "tools/call", "everything__echo"},
                      modern::standard_headers{"2026-07-28", "tools/list", "everything__echo"},
                      modern::standard_headers{"2026-07-28", std::nullopt, "everything__echo"},
                      modern::standard_headers{"2026-07-28", "tools/call", std::nullopt},
                      modern::standard_headers{"2026-07-28", "tools/call", "EVERYTHING__ECHO"}}) {
    const auto error = modern::check_headers(broken, "tools/call", params);
    ASSERT_TRUE(error);
    EXPECT_EQ(error->code, error_code::header_mismatch);
  }
  // resources/read names its uri; lists name nothing.
  const auto read = enveloped(json{{"uri", "file:///a b.txt"}});
  EXPECT_FALSE(modern::check_headers({"2026-07-28", "resources/read", "=?base64?ZmlsZTovLy9hIGIudHh0?="},
                                     "resources/read", read));
  EXPECT_FALSE(modern::check_headers({"2026-07-28", "tools/list", std::nullopt}, "tools/list", enveloped()));
}
