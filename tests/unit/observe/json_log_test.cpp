// `--log-format json`: one JSON object per line, context from scopes and the "[upstream]"
// prefix, control bytes and bad UTF-8 escaped.
#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>

#include "manifold/observe/json_log.hpp"

namespace manifold::observe {
namespace {

using json = nlohmann::json;

json line_of(std::string_view logger, spdlog::level::level_enum level, std::string_view text) {
  json_formatter f;
  spdlog::memory_buf_t buf;
  const spdlog::details::log_msg msg(spdlog::string_view_t(logger.data(), logger.size()), level,
                                     spdlog::string_view_t(text.data(), text.size()));
  f.format(msg, buf);
  const std::string line(buf.data(), buf.size());
  EXPECT_EQ(line.back(), '\n');
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line";
  return json::parse(line);
}

TEST(json_log, has_time_level_component_and_msg) {
  const auto j = line_of("manifold", spdlog::level::warn, "catalog built");
  EXPECT_EQ(j["level"], "warn");
  EXPECT_EQ(j["component"], "manifold");
  EXPECT_EQ(j["msg"], "catalog built");
  EXPECT_TRUE(std::regex_match(j["time"].get<std::string>(),
                               std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)")))
      << j["time"];
  EXPECT_FALSE(j.contains("upstream"));
  EXPECT_FALSE(j.contains("session"));
  EXPECT_FALSE(j.contains("trace_id"));
  EXPECT_EQ(line_of("", spdlog::level::err, "x")["component"], "manifold");
  EXPECT_EQ(line_of("", spdlog::level::err, "x")["level"], "error");
}

TEST(json_log, the_upstream_prefix_becomes_a_field) {
  auto j = line_of("manifold", spdlog::level::info, "[everything] ready: 11 tools");
  EXPECT_EQ(j["upstream"], "everything");
  EXPECT_EQ(j["msg"], "ready: 11 tools");
  j = line_of("manifold", spdlog::level::info, "[not an upstream] x");
  EXPECT_FALSE(j.contains("upstream"));
  EXPECT_EQ(j["msg"], "[not an upstream] x");
  j = line_of("manifold", spdlog::level::info, "[]x");
  EXPECT_FALSE(j.contains("upstream"));
}

TEST(json_log, scopes_add_context_and_restore_it) {
  {
    const log_scope outer({.component = "proxy", .session = "s-1"});
    {
      const log_scope inner({.upstream = "docs", .trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"});
      const auto j = line_of("manifold", spdlog::level::info, "[everything] relayed");
      EXPECT_EQ(j["component"], "proxy");
      EXPECT_EQ(j["session"], "s-1");
      EXPECT_EQ(j["upstream"], "docs");  // the scope wins over the prefix
      EXPECT_EQ(j["trace_id"], "4bf92f3577b34da6a3ce929d0e0e4736");
    }
    const auto j = line_of("manifold", spdlog::level::info, "after");
    EXPECT_EQ(j["session"], "s-1");
    EXPECT_FALSE(j.contains("upstream"));
    EXPECT_FALSE(j.contains("trace_id"));
  }
  EXPECT_TRUE(current_log_context().session.empty());
}

TEST(json_log, control_bytes_and_bad_utf8_are_escaped) {
  const std::string nasty = std::string("a\"b\\c\nd\re\tf\x01g\x7fh\x1b[31m") + "\xff" + "é" + "\xe2\x82";
  const auto j = line_of("manifold", spdlog::level::info, nasty);
  EXPECT_EQ(j["msg"], std::string("a\"b\\c\nd\re\tf\x01g\x7fh\x1b[31m") + "\xEF\xBF\xBD" + "é" + "\xEF\xBF\xBD\xEF\xBF\xBD");
  std::string out;
  append_json_escaped("\x01\x7f\"", out);
  EXPECT_EQ(out, "\\u0001\\u007f\\\"");
  out.clear();
  append_json_escaped("\xed\xa0\x80", out);  // a UTF-16 surrogate: not UTF-8
  EXPECT_EQ(out, "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");
  out.clear();
  append_json_escaped("\xf0\x9f\x98\x80", out);  // U+1F600 passes
  EXPECT_EQ(out, "\xf0\x9f\x98\x80");
}

TEST(json_log, installs_on_a_logger) {
  std::ostringstream stream;
  auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(stream);
  spdlog::logger logger("component-x", sink);
  set_log_format(logger, log_format::json);
  logger.info("[docs] hello {}", 42);
  logger.warn("second");
  std::istringstream lines(stream.str());
  std::string line;
  std::vector<json> parsed;
  while (std::getline(lines, line)) parsed.push_back(json::parse(line));
  ASSERT_EQ(parsed.size(), 2U);
  EXPECT_EQ(parsed[0]["msg"], "hello 42");
  EXPECT_EQ(parsed[0]["upstream"], "docs");
  EXPECT_EQ(parsed[0]["component"], "component-x");
  EXPECT_EQ(parsed[1]["level"], "warn");
}

}  // namespace
}  // namespace manifold::observe
