// The observability sections of a config: metrics, tracing, logs, tap, ui.
#include "observe_reader.hpp"

#include <charconv>

namespace manifold::config::detail {

namespace {

bool token_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// ADDRESS:PORT with a numeric port; [v6]:PORT allowed.
bool listen_address(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == text.size()) return false;
  unsigned port = 0;
  const auto digits = text.substr(colon + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), port);
  return ec == std::errc() && end == digits.data() + digits.size() && port <= 65535;
}

// http(s)://host[...]: the exporter parses it fully; here the obvious mistakes.
bool collector_url(std::string_view url) {
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else {
    return false;
  }
  if (rest.empty() || rest[0] == '/' || rest[0] == ':') return false;
  for (const char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || c == 0x7F) return false;
  }
  return true;
}

std::optional<std::size_t> count(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                                 long long minimum, long long maximum) {
  const auto v = ctx.int_value(node, path, minimum, maximum);
  if (!v) return std::nullopt;
  return static_cast<std::size_t>(*v);
}

void read_ratio(yaml_context& ctx, const YAML::Node& node, const std::string& path, double& out) {
  const auto text = ctx.string_value(node, path);
  if (!text) return;
  double v = 0;
  const auto [end, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec != std::errc() || end != text->data() + text->size() || !(v >= 0.0 && v <= 1.0)) {
    ctx.fail(node, path, "expected a ratio from 0 to 1 (0.01 samples one trace in a hundred)");
    return;
  }
  out = v;
}

void read_headers(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                  std::map<std::string, std::string>& out) {
  for (auto& [name, value] : ctx.string_map(node, path)) {
    const auto child = yaml_context::join(path, name);
    if (name.empty() || !std::all_of(name.begin(), name.end(), token_char)) {
      ctx.fail(node[name], child, "`" + name + "` is not an HTTP header name");
      continue;
    }
    if (value.find_first_of("\r\n") != std::string::npos || value.find('\0') != std::string::npos) {
      ctx.fail(node[name], child, "a header value cannot hold line breaks or NUL");
      continue;
    }
    out[name] = std::move(value);
  }
}

}  // namespace

void read_metrics(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                  metrics_config& out) {
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(node, path, {"enabled", "max_tool_labels", "listen"},
                   [&](const std::string& k, const YAML::Node& value, const std::string& child) {
                     if (k == "enabled") {
                       if (auto b = ctx.bool_value(value, child)) out.enabled = *b;
                     } else if (k == "max_tool_labels") {
                       if (auto n = count(ctx, value, child, 0, 100000)) out.max_tool_labels = *n;
                     } else if (auto v = ctx.string_value(value, child)) {
                       if (!listen_address(*v)) {
                         ctx.fail(value, child, "listen must be ADDRESS:PORT, such as 127.0.0.1:9464");
                       }
                       out.listen = std::move(*v);
                     }
                   });
}

void read_tracing(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                  tracing_config& out) {
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(
      node, path,
      {"otlp_endpoint", "sample_ratio", "batch_size", "batch_interval", "queue_size", "timeout",
       "headers"},
      [&](const std::string& k, const YAML::Node& value, const std::string& child) {
        if (k == "otlp_endpoint") {
          if (auto v = ctx.string_value(value, child)) {
            if (!v->empty() && !collector_url(*v)) {
              ctx.fail(value, child,
                       "otlp_endpoint must be an http:// or https:// URL, such as "
                       "http://127.0.0.1:4318/v1/traces");
            }
            out.otlp_endpoint = std::move(*v);
          }
        } else if (k == "sample_ratio") {
          read_ratio(ctx, value, child, out.sample_ratio);
        } else if (k == "batch_size") {
          if (auto n = count(ctx, value, child, 1, 100000)) out.batch_size = *n;
        } else if (k == "queue_size") {
          if (auto n = count(ctx, value, child, 1, 1000000)) out.queue_size = *n;
        } else if (k == "batch_interval") {
          if (auto d = ctx.duration_value(value, child)) out.batch_interval = *d;
        } else if (k == "timeout") {
          if (auto d = ctx.duration_value(value, child)) out.timeout = *d;
        } else {
          read_headers(ctx, value, child, out.headers);
        }
      });
  if (out.queue_size < out.batch_size) {
    ctx.fail(node["queue_size"].IsDefined() ? node["queue_size"] : node, yaml_context::join(path, "queue_size"),
             "queue_size (" + std::to_string(out.queue_size) + ") must be at least batch_size (" +
                 std::to_string(out.batch_size) + ")");
  }
}

void read_logs(yaml_context& ctx, const YAML::Node& node, const std::string& path,
               logs_config& out) {
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(node, path, {"format"},
                   [&](const std::string&, const YAML::Node& value, const std::string& child) {
                     const auto v = ctx.string_value(value, child);
                     if (!v) return;
                     if (*v == "text" || *v == "json") {
                       out.format = *v == "json" ? log_format::json : log_format::text;
                     } else {
                       ctx.fail(value, child, "format must be text or json");
                     }
                   });
}

void read_tap(yaml_context& ctx, const YAML::Node& node, const std::string& path,
              tap_config& out) {
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(
      node, path, {"enabled", "buffer", "file", "max_file_size", "files"},
      [&](const std::string& k, const YAML::Node& value, const std::string& child) {
        if (k == "enabled") {
          if (auto b = ctx.bool_value(value, child)) out.enabled = *b;
        } else if (k == "buffer") {
          if (auto n = count(ctx, value, child, 2, 1000000)) out.buffer = *n;
        } else if (k == "files") {
          if (auto n = count(ctx, value, child, 1, 100)) out.files = *n;
        } else if (k == "max_file_size") {
          if (auto n = ctx.size_value(value, child)) {
            if (*n < 4096) {
              ctx.fail(value, child, "max_file_size must be at least 4KiB");
            } else {
              out.max_file_size = *n;
            }
          }
        } else if (auto v = ctx.string_value(value, child)) {
          if (v->empty()) {
            ctx.fail(value, child, "file must name a file");
          } else if (v->front() != '/') {
            const auto slash = ctx.file().rfind('/');
            if (slash != std::string::npos) *v = ctx.file().substr(0, slash + 1) + *v;
          }
          out.file = std::move(*v);
        }
      });
}

void read_ui(yaml_context& ctx, const YAML::Node& node, const std::string& path, ui_config& out) {
  if (!ctx.expect_map(node, path)) return;
  ctx.for_each_key(node, path, {"enabled"},
                   [&](const std::string&, const YAML::Node& value, const std::string& child) {
                     if (auto b = ctx.bool_value(value, child)) out.enabled = *b;
                   });
}

void read_observe(yaml_context& ctx, const std::string& key, const YAML::Node& node,
                  const std::string& path, config& out) {
  if (key == "metrics") {
    read_metrics(ctx, node, path, out.metrics);
  } else if (key == "tracing") {
    read_tracing(ctx, node, path, out.tracing);
  } else if (key == "logs") {
    read_logs(ctx, node, path, out.logs);
  } else if (key == "tap") {
    read_tap(ctx, node, path, out.tap);
  } else if (key == "ui") {
    read_ui(ctx, node, path, out.ui);
  }
}

}  // namespace manifold::config::detail
