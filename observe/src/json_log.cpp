#include "manifold/observe/json_log.hpp"

#include <spdlog/details/log_msg.h>

#include <chrono>
#include <ctime>

namespace manifold::observe {

namespace {

thread_local log_context current;

// Length of the well-formed UTF-8 sequence at the start of `s`, or 0.
std::size_t utf8_length(std::string_view s) {
  const auto b0 = static_cast<unsigned char>(s[0]);
  std::size_t n = 0;
  unsigned min_second = 0x80;
  unsigned max_second = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) min_second = 0xA0;  // overlong
    if (b0 == 0xED) max_second = 0x9F;  // surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) min_second = 0x90;  // overlong
    if (b0 == 0xF4) max_second = 0x8F;  // past U+10FFFF
  } else {
    return 0;
  }
  if (s.size() < n) return 0;
  const auto b1 = static_cast<unsigned char>(s[1]);
  if (b1 < min_second || b1 > max_second) return 0;
  for (std::size_t i = 2; i < n; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80 || b > 0xBF) return 0;
  }
  return n;
}

bool upstream_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || c == '.' || c == ':' || c == '/';
}

// "[name] rest" -> name (and `rest` in msg); otherwise empty.
std::string_view upstream_prefix(std::string_view& msg) {
  if (msg.size() < 4 || msg[0] != '[') return {};
  const auto close = msg.find(']');
  if (close == std::string_view::npos || close < 2 || close > 65 || close + 1 >= msg.size() ||
      msg[close + 1] != ' ') {
    return {};
  }
  const auto name = msg.substr(1, close - 1);
  for (const char c : name) {
    if (!upstream_char(c)) return {};
  }
  msg.remove_prefix(close + 2);
  return name;
}

std::string_view level_name(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace: return "trace";
    case spdlog::level::debug: return "debug";
    case spdlog::level::info: return "info";
    case spdlog::level::warn: return "warn";
    case spdlog::level::err: return "error";
    case spdlog::level::critical: return "critical";
    default: return "info";
  }
}

void append_time(std::chrono::system_clock::time_point t, std::string& out) {
  const auto since = t.time_since_epoch();
  const auto secs = std::chrono::floor<std::chrono::seconds>(since);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since - secs).count();
  const std::time_t tt = secs.count();
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[32];
  const auto n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                               static_cast<int>(ms));
  if (n > 0) out.append(buf, static_cast<std::size_t>(n));
}

void field(std::string& out, std::string_view key, std::string_view value) {
  out += ",\"";
  out += key;
  out += "\":\"";
  append_json_escaped(value, out);
  out += '"';
}

}  // namespace

void append_json_escaped(std::string_view text, std::string& out) {
  static constexpr char digits[] = "0123456789abcdef";
  std::size_t i = 0;
  while (i < text.size()) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x80) {
      const auto n = utf8_length(text.substr(i));
      if (n == 0) {
        out += "\xEF\xBF\xBD";  // U+FFFD
        ++i;
      } else {
        out.append(text.substr(i, n));
        i += n;
      }
      continue;
    }
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        if (c < 0x20 || c == 0x7F) {
          out += "\\u00";
          out += digits[c >> 4U];
          out += digits[c & 0x0FU];
        } else {
          out += static_cast<char>(c);
        }
    }
    ++i;
  }
}

log_scope::log_scope(const log_context& context) : saved_(current) {
  if (!context.component.empty()) current.component = context.component;
  if (!context.upstream.empty()) current.upstream = context.upstream;
  if (!context.session.empty()) current.session = context.session;
  if (!context.trace_id.empty()) current.trace_id = context.trace_id;
}

log_scope::~log_scope() { current = saved_; }

const log_context& current_log_context() { return current; }

void json_formatter::format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) {
  const auto& ctx = current;
  std::string_view text(msg.payload.data(), msg.payload.size());
  auto upstream = upstream_prefix(text);
  if (!ctx.upstream.empty()) upstream = ctx.upstream;
  std::string_view component = ctx.component;
  if (component.empty()) component = std::string_view(msg.logger_name.data(), msg.logger_name.size());
  if (component.empty()) component = "manifold";

  std::string out;
  out.reserve(96 + text.size());
  out += "{\"time\":\"";
  append_time(msg.time, out);
  out += '"';
  field(out, "level", level_name(msg.level));
  field(out, "component", component);
  field(out, "msg", text);
  if (!upstream.empty()) field(out, "upstream", upstream);
  if (!ctx.session.empty()) field(out, "session", ctx.session);
  if (!ctx.trace_id.empty()) field(out, "trace_id", ctx.trace_id);
  out += "}\n";
  dest.append(out.data(), out.data() + out.size());
}

std::unique_ptr<spdlog::formatter> json_formatter::clone() const {
  return std::make_unique<json_formatter>();
}

void set_log_format(spdlog::logger& logger, log_format format) {
  if (format != log_format::json) return;
  logger.set_formatter(std::make_unique<json_formatter>());
}

}  // namespace manifold::observe
