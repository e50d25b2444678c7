#include "manifold/access/audit_log.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <fstream>

#include "manifold/access/digest.hpp"
#include "manifold/protocol/json_access.hpp"

namespace manifold::access {

namespace {

constexpr std::size_t max_tail_bytes = 64 * 1024 * 1024;

struct tail {
  std::string last_line;
  bool complete = true;  // ends with a newline
  bool empty = true;
};

// The last line of `path` without reading the whole file; nullopt when it cannot be read.
std::optional<tail> read_tail(const std::string& path) {
  std::ifstream in(path, std::ios::binary | std::ios::ate);
  if (!in) return tail{};  // not there yet
  const auto size = static_cast<std::size_t>(in.tellg());
  tail out;
  if (size == 0) return out;
  out.empty = false;
  std::string buffer;
  std::size_t from = size;
  constexpr std::size_t chunk = 64 * 1024;
  while (from > 0 && size - from < max_tail_bytes) {
    const auto n = std::min(chunk, from);
    from -= n;
    std::string part(n, '\0');
    in.seekg(static_cast<std::streamoff>(from));
    if (!in.read(part.data(), static_cast<std::streamsize>(n))) return std::nullopt;
    buffer.insert(0, part);
    const auto body_end = buffer.back() == '\n' ? buffer.size() - 1 : buffer.size();
    const auto newline = buffer.rfind('\n', body_end == 0 ? 0 : body_end - 1);
    if (newline != std::string::npos && newline < body_end) {
      out.last_line = buffer.substr(newline + 1, body_end - newline - 1);
      out.complete = buffer.back() == '\n';
      return out;
    }
  }
  if (from != 0) return std::nullopt;  // a last line beyond the cap
  out.complete = buffer.back() == '\n';
  out.last_line = buffer.substr(0, out.complete ? buffer.size() - 1 : buffer.size());
  return out;
}

}  // namespace

audit_log::settings audit_log::settings::from(const config::audit_config& cfg) {
  settings s;
  s.file = cfg.file;
  s.to_stderr = cfg.to_stderr;
  s.arguments = cfg.arguments;
  s.redact = cfg.redact;
  return s;
}

audit_log::audit_log(settings s, std::FILE* file)
    : settings_(std::move(s)), redaction_(settings_.redact), file_(file), head_(sha256_hex(settings_.seed)) {}

audit_log::~audit_log() {
  if (file_ != nullptr) std::fclose(file_);
}

std::unique_ptr<audit_log> audit_log::open(settings s, std::string& error) {
  std::FILE* file = nullptr;
  std::optional<tail> existing = tail{};
  if (!s.file.empty()) {
    existing = read_tail(s.file);
    if (!existing) {
      error = "cannot read the end of audit file " + s.file;
      return nullptr;
    }
    const int fd = ::open(s.file.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) file = ::fdopen(fd, "a");
    if (file == nullptr) {
      if (fd >= 0) ::close(fd);
      error = "cannot open audit file " + s.file + " for appending";
      return nullptr;
    }
  }
  std::unique_ptr<audit_log> log(new audit_log(std::move(s), file));
  if (!existing->empty) {
    log->head_ = sha256_hex(existing->last_line);
    log->needs_newline_ = !existing->complete;
  }
  return log;
}

void audit_log::write(const audit_record& record) {
  auto line = audit_json(record, settings_.arguments, redaction_);
  line["prev"] = head_;
  const auto text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  head_ = sha256_hex(text);
  ++written_;
  const auto put = [&](std::FILE* sink, const char* name) {
    if (sink == nullptr) return;
    const bool ok = (!needs_newline_ || sink != file_ || std::fputc('\n', sink) != EOF) &&
                    std::fwrite(text.data(), 1, text.size(), sink) == text.size() && std::fputc('\n', sink) != EOF &&
                    std::fflush(sink) == 0;
    if (sink == file_) needs_newline_ = false;
    if (!ok && !failed_) {
      failed_ = true;
      spdlog::error("audit: writing to {} failed; audit lines are being lost", name);
    }
  };
  put(file_, settings_.file.c_str());
  if (settings_.to_stderr) put(stderr, "stderr");
}

audit_check verify_audit_file(const std::string& path, std::string_view seed) {
  audit_check out;
  out.head = sha256_hex(seed);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    out.ok = false;
    out.why = "cannot open " + path;
    return out;
  }
  std::string line;
  while (std::getline(in, line)) {
    ++out.lines;
    const auto fail = [&](std::string why) {
      out.ok = false;
      out.bad_line = out.lines;
      out.why = std::move(why);
    };
    const auto parsed = protocol::parse_json(line, 64);
    const auto prev = parsed.ok() ? protocol::string_member(parsed.value, "prev") : std::nullopt;
    if (!parsed.ok() || !parsed.value.is_object()) {
      fail("not a JSON object (the line was altered or cut)");
    } else if (!prev) {
      fail("no `prev` hash");
    } else if (*prev != out.head) {
      fail(out.lines == 1 ? "`prev` is not the hash of the seed: lines were removed from the start"
                          : "`prev` does not match line " + std::to_string(out.lines - 1) +
                                ": that line or this one was altered, or lines were removed or inserted between");
    }
    if (!out.ok) return out;
    out.head = sha256_hex(line);
  }
  return out;
}

}  // namespace manifold::access
