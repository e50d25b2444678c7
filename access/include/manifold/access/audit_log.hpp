#pragma once

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/access/audit_record.hpp"
#include "manifold/access/redactor.hpp"
#include "manifold/config/config.hpp"

namespace manifold::access {

// The append-only audit stream: one JSON object per line, each carrying `prev`, the hex
// SHA-256 of the previous line's bytes (the first line: of the seed, by default the empty
// string), so that changing, removing or inserting a line breaks the chain at the next line.
// Sinks: a file (opened once in append mode, created 0600, flushed after every line; a file
// that already holds lines is continued) and/or stderr. Writes are synchronous (one write
// and flush a line); a failing sink is reported once in the log and the process goes on.
// Thread: the io thread.
class audit_log {
 public:
  struct settings {
    std::string file;
    bool to_stderr = false;
    config::audit_arguments arguments = config::audit_arguments::keys;
    std::vector<std::string> redact;
    std::string seed;
    static settings from(const config::audit_config& cfg);
  };

  // Opens the sinks; null with `error` set when the file cannot be opened or read.
  static std::unique_ptr<audit_log> open(settings s, std::string& error);
  audit_log(const audit_log&) = delete;
  audit_log& operator=(const audit_log&) = delete;
  ~audit_log();

  // A config secret (an HMAC key, an upstream's header value...) that must never appear.
  void add_secret(std::string value) { redaction_.add_secret(std::move(value)); }

  void write(const audit_record& record);

  // Hex SHA-256 of the last line written (or found at open), or of the seed.
  [[nodiscard]] const std::string& head() const { return head_; }
  [[nodiscard]] std::size_t written() const { return written_; }
  [[nodiscard]] bool healthy() const { return !failed_; }

 private:
  audit_log(settings s, std::FILE* file);

  settings settings_;
  redactor redaction_;
  std::FILE* file_ = nullptr;
  std::string head_;
  std::size_t written_ = 0;
  bool failed_ = false;
  bool needs_newline_ = false;  // the file ended in a partial line
};

struct audit_check {
  bool ok = true;
  std::size_t lines = 0;     // lines read
  std::size_t bad_line = 0;  // 1-based; 0 when ok
  std::string why;
  std::string head;          // hex SHA-256 of the last good line
};

// Checks an audit file's chain from its first line. The first line whose `prev` does not
// match (or that is not a JSON object with `prev`) is reported; the last line is covered only
// by comparing `head` with a value kept elsewhere (audit_log::head(), logged).
audit_check verify_audit_file(const std::string& path, std::string_view seed = {});

}  // namespace manifold::access
