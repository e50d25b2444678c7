#pragma once

#include <spdlog/formatter.h>
#include <spdlog/logger.h>

#include <memory>
#include <string>
#include <string_view>

// `--log-format json`: one JSON object per line on stderr,
//   {"time":"2025-05-01T12:00:00.123Z","level":"info","component":"manifold",
//    "msg":"ready: ...","upstream":"everything","session":"9f2c...","trace_id":"4bf9..."}
// `upstream`, `session` and `trace_id` appear only when known. Where they come from:
//  - a log_scope: the caller sets the context around synchronous work on one thread (a
//    message handler, the code that finishes a call) and every line logged inside carries
//    it. A scope must never span a co_await: another coroutine would log with it.
//  - the message's leading "[name] " (manifold's convention for lines about one upstream:
//    `spdlog::info("[{}] ready", server.name)`) becomes `upstream`, and the prefix leaves
//    `msg`, unless a scope already names the upstream.
// `component` is the scope's, else the logger's name, else "manifold".
namespace manifold::observe {

struct log_context {
  std::string_view component{};
  std::string_view upstream{};
  std::string_view session{};
  std::string_view trace_id{};
};

// Sets the thread's log context until it goes out of scope (then the enclosing one is back).
// Fields left empty keep the enclosing scope's value. The viewed strings must outlive it.
class log_scope {
 public:
  explicit log_scope(const log_context& context);
  ~log_scope();
  log_scope(const log_scope&) = delete;
  log_scope& operator=(const log_scope&) = delete;

 private:
  log_context saved_;
};

[[nodiscard]] const log_context& current_log_context();

class json_formatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override;
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override;
};

// `text` as the contents of a JSON string (no quotes): `"` and `\` escaped, control bytes as
// \n, \r, \t or \u00XX, DEL as \u007f, bytes that are not valid UTF-8 as U+FFFD.
void append_json_escaped(std::string_view text, std::string& out);

enum class log_format { text, json };
// Installs the JSON formatter on every sink of `logger` (json), or leaves it alone (text).
void set_log_format(spdlog::logger& logger, log_format format);

}  // namespace manifold::observe
