// The observability sections: metrics, tracing, logs, tap, ui.
#include <gtest/gtest.h>

#include "manifold/config/config_error.hpp"
#include "manifold/config/config_loader.hpp"

namespace manifold::config {
namespace {

env_lookup env() {
  return [](const std::string& name) -> std::optional<std::string> {
    if (name == "OTLP_TOKEN") return std::string("t0ken");
    return std::nullopt;
  };
}

const std::string servers = "servers:\n  a: {command: a}\n";

std::vector<diagnostic> errors_of(const std::string& text) {
  try {
    parse_config(servers + text, "dir/test.yaml", env());
  } catch (const config_error& e) {
    return e.diagnostics();
  }
  return {};
}

TEST(observe_config, defaults) {
  const auto cfg = parse_config(servers, "dir/test.yaml", env());
  EXPECT_TRUE(cfg.metrics.enabled);
  EXPECT_EQ(cfg.metrics.max_tool_labels, 200U);
  EXPECT_TRUE(cfg.metrics.listen.empty());
  EXPECT_FALSE(cfg.tracing.exporting());
  EXPECT_DOUBLE_EQ(cfg.tracing.sample_ratio, 1.0);
  EXPECT_EQ(cfg.tracing.batch_size, 512U);
  EXPECT_EQ(cfg.tracing.batch_interval, std::chrono::seconds(5));
  EXPECT_EQ(cfg.tracing.queue_size, 2048U);
  EXPECT_EQ(cfg.tracing.timeout, std::chrono::seconds(10));
  EXPECT_EQ(cfg.logs.format, log_format::text);
  EXPECT_FALSE(cfg.tap.enabled);
  EXPECT_EQ(cfg.tap.buffer, 1024U);
  EXPECT_TRUE(cfg.tap.file.empty());
  EXPECT_EQ(cfg.tap.max_file_size, 64U * 1024 * 1024);
  EXPECT_EQ(cfg.tap.files, 5U);
  EXPECT_TRUE(cfg.ui.enabled);
}

TEST(observe_config, reads_every_key) {
  const auto cfg = parse_config(servers + R"(
metrics: {enabled: false, max_tool_labels: 50, listen: "127.0.0.1:9464"}
tracing:
  otlp_endpoint: http://collector.test:4318/v1/traces
  sample_ratio: 0.25
  batch_size: 100
  batch_interval: 500ms
  queue_size: 1000
  timeout: 2s
  headers: {Authorization: "Bearer ${OTLP_TOKEN}", X-Tenant: acme}
logs: {format: json}
tap: {enabled: true, buffer: 64, file: traffic.jsonl, max_file_size: 1MiB, files: 3}
ui: {enabled: false}
)",
                                "dir/test.yaml", env());
  EXPECT_FALSE(cfg.metrics.enabled);
  EXPECT_EQ(cfg.metrics.max_tool_labels, 50U);
  EXPECT_EQ(cfg.metrics.listen, "127.0.0.1:9464");
  EXPECT_TRUE(cfg.tracing.exporting());
  EXPECT_EQ(cfg.tracing.otlp_endpoint, "http://collector.test:4318/v1/traces");
  EXPECT_DOUBLE_EQ(cfg.tracing.sample_ratio, 0.25);
  EXPECT_EQ(cfg.tracing.batch_size, 100U);
  EXPECT_EQ(cfg.tracing.batch_interval, std::chrono::milliseconds(500));
  EXPECT_EQ(cfg.tracing.queue_size, 1000U);
  EXPECT_EQ(cfg.tracing.timeout, std::chrono::seconds(2));
  EXPECT_EQ(cfg.tracing.headers.at("Authorization"), "Bearer t0ken");
  EXPECT_EQ(cfg.tracing.headers.at("X-Tenant"), "acme");
  EXPECT_EQ(cfg.logs.format, log_format::json);
  EXPECT_TRUE(cfg.tap.enabled);
  EXPECT_EQ(cfg.tap.buffer, 64U);
  EXPECT_EQ(cfg.tap.file, "dir/traffic.jsonl");  // beside the config file
  EXPECT_EQ(cfg.tap.max_file_size, 1024U * 1024);
  EXPECT_EQ(cfg.tap.files, 3U);
  EXPECT_FALSE(cfg.ui.enabled);
}

TEST(observe_config, absolute_trace_file_stays) {
  const auto cfg = parse_config(servers + "tap: {file: /var/log/manifold/traffic.jsonl}\n",
                                "dir/test.yaml", env());
  EXPECT_EQ(cfg.tap.file, "/var/log/manifold/traffic.jsonl");
}

struct bad_case {
  const char* yaml;
  const char* path;
  const char* message_part;
  int line;
  int column;
};

TEST(observe_config, refuses_bad_values_with_positions) {
  const bad_case cases[] = {
      {"metrics: {enable: true}\n", "metrics.enable", "unknown key `enable`", 3, 11},
      {"metrics: {max_tool_labels: -1}\n", "metrics.max_tool_labels", "whole number", 3, 28},
      {"metrics: {listen: localhost}\n", "metrics.listen", "ADDRESS:PORT", 3, 19},
      {"metrics: {listen: \"h:99999\"}\n", "metrics.listen", "ADDRESS:PORT", 3, 19},
      {"metrics: {enabled: yes}\n", "metrics.enabled", "true or false", 3, 20},
      {"tracing: {otlp_endpoint: \"grpc://c:4317\"}\n", "tracing.otlp_endpoint", "http://", 3, 26},
      {"tracing: {otlp_endpoint: \"http://\"}\n", "tracing.otlp_endpoint", "http://", 3, 26},
      {"tracing: {sample_ratio: 1.5}\n", "tracing.sample_ratio", "ratio from 0 to 1", 3, 25},
      {"tracing: {sample_ratio: half}\n", "tracing.sample_ratio", "ratio from 0 to 1", 3, 25},
      {"tracing: {batch_size: 0}\n", "tracing.batch_size", "whole number", 3, 23},
      {"tracing: {batch_interval: 0s}\n", "tracing.batch_interval", "positive duration", 3, 27},
      {"tracing: {batch_size: 100, queue_size: 10}\n", "tracing.queue_size", "at least batch_size", 3, 40},
      {"tracing: {headers: {\"Bad Header\": x}}\n", "tracing.headers.Bad Header", "header name", 3, 35},
      {"tracing: {headers: [a]}\n", "tracing.headers", "mapping", 3, 20},
      {"tracing: {sampler: always}\n", "tracing.sampler", "unknown key", 3, 11},
      {"logs: {format: xml}\n", "logs.format", "text or json", 3, 16},
      {"logs: text\n", "logs", "mapping", 3, 7},
      {"tap: {buffer: 1}\n", "tap.buffer", "whole number from 2", 3, 15},
      {"tap: {files: 0}\n", "tap.files", "whole number from 1", 3, 14},
      {"tap: {max_file_size: 1KiB}\n", "tap.max_file_size", "at least 4KiB", 3, 22},
      {"tap: {file: \"\"}\n", "tap.file", "must name a file", 3, 13},
      {"ui: {enabled: 1}\n", "ui.enabled", "true or false", 3, 15},
      {"ui: {theme: dark}\n", "ui.theme", "unknown key", 3, 6},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.yaml);
    const auto errors = errors_of(c.yaml);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].path, c.path);
    EXPECT_NE(errors[0].message.find(c.message_part), std::string::npos) << errors[0].message;
    EXPECT_EQ(errors[0].position.file, "dir/test.yaml");
    EXPECT_EQ(errors[0].position.line, c.line);
    EXPECT_EQ(errors[0].position.column, c.column);
  }
}

TEST(observe_config, reports_every_problem_in_one_pass) {
  const auto errors = errors_of("metrics: {listen: x}\nlogs: {format: xml}\ntap: {files: 0}\n");
  ASSERT_EQ(errors.size(), 3U);
  EXPECT_EQ(errors[0].to_string().rfind("dir/test.yaml:3:", 0), 0U) << errors[0].to_string();
}

}  // namespace
}  // namespace manifold::config
