// MCP 2026-07-28 x-mcp-header annotations: which tool schemas are valid, and the
// Mcp-Param-* headers a call sends. Pure logic, no I/O.
#include "manifold/protocol/param_headers.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>

#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/modern.hpp"

namespace modern = manifold::protocol::modern;
using manifold::protocol::json;

namespace {

json annotated(json type, json name) {
  return json{
      {"type", "object"},
      {"properties", {{"value", {{"type", std::move(type)}, {"x-mcp-header", std::move(name)}}}}}};
}

std::string problem(const json& schema) {
  const auto check = modern::read_param_headers(schema);
  EXPECT_TRUE(check.headers.empty() || !check.problem);
  return check.problem.value_or("");
}

}  // namespace

TEST(param_headers, valid_annotations_are_read_with_their_property_paths) {
  const auto schema = json::parse(R"({
    "type": "object",
    "properties": {
      "region": {"type": "string", "x-mcp-header": "Region"},
      "priority": {"type": "integer", "x-mcp-header": "Priority"},
      "verbose": {"type": ["boolean", "null"], "x-mcp-header": "Verbose"},
      "query": {"type": "string"},
      "x-mcp-header": {"type": "string"},
      "where": {"type": "object", "properties": {"zone": {"type": "string", "x-mcp-header": "Zone"}}},
      "choice": {"type": "string", "enum": [{"x-mcp-header": "data, not an annotation"}]}
    }
  })");
  const auto check = modern::read_param_headers(schema);
  ASSERT_FALSE(check.problem) << *check.problem;
  ASSERT_EQ(check.headers.size(), 4U);
  std::vector<std::string> names;
  for (const auto& h : check.headers) names.push_back(h.name);
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"Priority", "Region", "Verbose", "Zone"}));
  for (const auto& h : check.headers) {
    if (h.name == "Zone") {
      EXPECT_EQ(h.path, (std::vector<std::string>{"where", "zone"}));
    }
  }
  EXPECT_TRUE(modern::read_param_headers(json{{"type", "object"}}).headers.empty());
  EXPECT_FALSE(modern::read_param_headers(json{{"type", "object"}}).problem);
}

TEST(param_headers, the_conformance_suites_invalid_annotations_are_refused) {
  EXPECT_NE(problem(annotated("string", "")), "");
  EXPECT_NE(problem(annotated("object", "Data")), "");
  EXPECT_NE(problem(annotated("array", "Items")), "");
  EXPECT_NE(problem(annotated("null", "Nil")), "");
  EXPECT_NE(problem(annotated("number", "Score")), "");
  EXPECT_NE(problem(annotated("string", "My Region")), "");
  EXPECT_NE(problem(annotated("string", "Region:Primary")), "");
  EXPECT_NE(problem(annotated("string", "R\xc3\xa9gion")), "");
  EXPECT_NE(problem(annotated("string", "Region\t1")), "");
  EXPECT_NE(problem(annotated("string", "Line\r\nBreak")), "");
  EXPECT_NE(problem(annotated("string", 7)), "");
  const auto twice = [](const char* a, const char* b) {
    return json{{"type", "object"},
                {"properties",
                 {{"field1", {{"type", "string"}, {"x-mcp-header", a}}},
                  {"field2", {{"type", "string"}, {"x-mcp-header", b}}}}}};
  };
  EXPECT_NE(problem(twice("Region", "Region")), "");
  EXPECT_NE(problem(twice("MyField", "myfield")), "");
  EXPECT_EQ(problem(twice("MyField", "OtherField")), "");
}

TEST(param_headers, annotations_off_the_static_properties_chain_are_refused) {
  const json leaf = {{"type", "string"}, {"x-mcp-header", "Leaf"}};
  EXPECT_NE(problem(json{{"type", "string"}, {"x-mcp-header", "Root"}}), "");
  EXPECT_NE(problem(json{{"type", "object"},
                         {"properties", {{"list", {{"type", "array"}, {"items", leaf}}}}}}),
            "");
  EXPECT_NE(problem(json{{"type", "object"},
                         {"properties", {{"one", {{"oneOf", json::array({leaf})}}}}}}),
            "");
  EXPECT_NE(
      problem(json{{"type", "object"}, {"anyOf", json::array({{{"properties", {{"a", leaf}}}}})}}),
      "");
  EXPECT_NE(problem(json{{"type", "object"},
                         {"$defs", {{"d", leaf}}},
                         {"properties", {{"a", {{"$ref", "#/$defs/d"}}}}}}),
            "");
  EXPECT_NE(problem(json{{"type", "object"}, {"if", {{"properties", {{"a", leaf}}}}}}), "");
  EXPECT_NE(problem(json{{"type", "object"}, {"not", leaf}}), "");
  EXPECT_NE(problem(json{{"type", "object"}, {"additionalProperties", leaf}}), "");
  EXPECT_EQ(problem(json{{"type", "object"}, {"properties", {{"a", leaf}}}}), "");
  EXPECT_NE(
      problem(
          json{{"type", "object"},
               {"properties",
                {{"a", {{"type", json::array({"string", "integer"})}, {"x-mcp-header", "Two"}}}}}}),
      "");
}

TEST(param_headers, values_are_mirrored_encoded_and_omitted_when_absent_or_null) {
  const auto schema = json::parse(R"({
    "type": "object",
    "properties": {
      "region": {"type": "string", "x-mcp-header": "Region"},
      "priority": {"type": "integer", "x-mcp-header": "Priority"},
      "verbose": {"type": "boolean", "x-mcp-header": "Verbose"},
      "debug": {"type": "boolean", "x-mcp-header": "Debug"},
      "empty": {"type": "string", "x-mcp-header": "EmptyVal"},
      "greeting": {"type": "string", "x-mcp-header": "Greeting"},
      "padded": {"type": "string", "x-mcp-header": "Padded"},
      "inner": {"type": "string", "x-mcp-header": "Inner"},
      "tab": {"type": "string", "x-mcp-header": "Tab"},
      "missing": {"type": "string", "x-mcp-header": "Missing"},
      "nil": {"type": ["string", "null"], "x-mcp-header": "Nil"},
      "where": {"type": "object", "properties": {"zone": {"type": "string", "x-mcp-header": "Zone"}}},
      "query": {"type": "string"}
    }
  })");
  const auto check = modern::read_param_headers(schema);
  ASSERT_FALSE(check.problem) << *check.problem;
  const auto args = json::parse(R"({
    "region": "us-west1", "priority": 42, "verbose": false, "debug": true, "empty": "",
    "greeting": "Hello, \u4e16\u754c", "padded": " padded ", "inner": "us west 1", "tab": "\tindented",
    "nil": null, "where": {"zone": "b"}, "query": "SELECT 1"
  })");
  const auto values = modern::param_header_values(check.headers, args);
  std::map<std::string, std::string> got(values.begin(), values.end());
  const std::map<std::string, std::string> want{
      {"Mcp-Param-Region", "us-west1"},
      {"Mcp-Param-Priority", "42"},
      {"Mcp-Param-Verbose", "false"},
      {"Mcp-Param-Debug", "true"},
      {"Mcp-Param-EmptyVal", modern::encode_header_value("")},
      {"Mcp-Param-Greeting", "=?base64?SGVsbG8sIOS4lueVjA==?="},
      {"Mcp-Param-Padded", "=?base64?IHBhZGRlZCA=?="},
      {"Mcp-Param-Inner", "us west 1"},
      {"Mcp-Param-Tab", "=?base64?CWluZGVudGVk?="},
      {"Mcp-Param-Zone", "b"},
  };
  EXPECT_EQ(got, want);
  EXPECT_EQ(modern::decode_header_value(got["Mcp-Param-EmptyVal"]), std::optional<std::string>(""));
  // An integral float is written as an integer; objects and arrays send nothing.
  const auto odd = modern::param_header_values(check.headers,
                                               json{{"priority", 42.0}, {"region", json::array()}});
  ASSERT_EQ(odd.size(), 1U);
  EXPECT_EQ(odd[0].second, "42");
  EXPECT_TRUE(modern::param_header_values(check.headers, json::array()).empty());
}

TEST(param_headers, header_tokens_follow_rfc_9110) {
  EXPECT_TRUE(modern::is_header_token("Region"));
  EXPECT_TRUE(modern::is_header_token("X-Trace_Id.v2!#$%&'*+^`|~"));
  EXPECT_FALSE(modern::is_header_token(""));
  EXPECT_FALSE(modern::is_header_token("a b"));
  EXPECT_FALSE(modern::is_header_token("a:b"));
  EXPECT_FALSE(modern::is_header_token("a\"b"));
  EXPECT_FALSE(modern::is_header_token("a(b)"));
}

TEST(param_headers, a_version_rejection_naming_2026_07_28_allows_a_retry) {
  using manifold::protocol::rpc_error;
  const int unsupported = manifold::protocol::error_code::unsupported_protocol_version;
  EXPECT_TRUE(modern::rejection_offers_modern(
      rpc_error{unsupported, "Unsupported protocol version",
                json{{"supported", {"2026-07-28"}}, {"requested", "x"}}}));
  EXPECT_FALSE(modern::rejection_offers_modern(
      rpc_error{unsupported, "Unsupported protocol version", json{{"supported", {"2025-11-25"}}}}));
  EXPECT_FALSE(modern::rejection_offers_modern(rpc_error{unsupported, "no data", std::nullopt}));
  EXPECT_FALSE(modern::rejection_offers_modern(
      rpc_error{unsupported, "bad data", json{{"supported", "2026-07-28"}}}));
  EXPECT_FALSE(modern::rejection_offers_modern(
      rpc_error{-32600, "other", json{{"supported", {"2026-07-28"}}}}));
}

TEST(param_headers, a_server_checks_received_headers_against_the_arguments) {
  const auto schema = json::parse(R"({"type":"object","properties":{
      "region":{"type":"string","x-mcp-header":"Region"},
      "count":{"type":"integer","x-mcp-header":"Count"},
      "dry":{"type":"boolean","x-mcp-header":"Dry"},
      "query":{"type":"string"}}})");
  const auto annotations = modern::read_param_headers(schema).headers;
  ASSERT_EQ(annotations.size(), 3U);
  const auto check = [&](const json& arguments, modern::received_headers sent) {
    return modern::check_param_headers(annotations, arguments, sent);
  };
  const json args{{"region", "us-west1"}, {"count", 42}, {"dry", true}, {"query", "x"}};
  const modern::received_headers all{{"Mcp-Param-Region", "us-west1"}, {"Mcp-Param-Count", "42"},
                                     {"Mcp-Param-Dry", "true"}};
  EXPECT_FALSE(check(args, all));
  // Names in any case, surrounding whitespace, the base64 sentinel, numbers compared numerically.
  EXPECT_FALSE(check(args, {{"mcp-param-region", "  us-west1 "}, {"MCP-PARAM-COUNT", "42.0"},
                            {"Mcp-Param-Dry", "true"}}));
  EXPECT_FALSE(check(json{{"region", "Hello, 世界"}},
                     {{"Mcp-Param-Region", "=?base64?SGVsbG8sIOS4lueVjA==?="}}));
  // Absent and null values send no header; unannotated headers are ignored.
  EXPECT_FALSE(check(json{{"region", nullptr}}, {{"Mcp-Param-Other", "x"}}));
  EXPECT_FALSE(check(json::object(), {}));

  const auto code = manifold::protocol::error_code::header_mismatch;
  const auto missing = check(args, {{"Mcp-Param-Count", "42"}, {"Mcp-Param-Dry", "true"}});
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->code, code);
  EXPECT_NE(missing->message.find("Mcp-Param-Region"), std::string::npos);
  EXPECT_TRUE(check(args, {{"Mcp-Param-Region", "US-WEST1"}, {"Mcp-Param-Count", "42"},
                           {"Mcp-Param-Dry", "true"}}));  // values are case-sensitive
  EXPECT_TRUE(check(args, {{"Mcp-Param-Region", "us-west1"}, {"Mcp-Param-Count", "41"},
                           {"Mcp-Param-Dry", "true"}}));
  EXPECT_TRUE(check(args, {{"Mcp-Param-Region", "us-west1"}, {"Mcp-Param-Count", "42"},
                           {"Mcp-Param-Dry", "True"}}));
  EXPECT_TRUE(check(json{{"region", "Hello"}}, {{"Mcp-Param-Region", "=?base64?SGVsbG8?="}}));  // bad padding
  EXPECT_TRUE(check(json{{"region", "Hello"}}, {{"Mcp-Param-Region", "=?base64?SGVs!!!bG8=?="}}));
  // Without both ends of the sentinel a value is literal.
  EXPECT_FALSE(check(json{{"region", "=?base64?SGVsbG8="}}, {{"Mcp-Param-Region", "=?base64?SGVsbG8="}}));
  // A header for a value the body lacks disagrees.
  EXPECT_TRUE(check(json::object(), {{"Mcp-Param-Region", "eu"}}));
}
