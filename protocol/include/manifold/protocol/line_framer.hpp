#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace manifold::protocol {

// One newline-delimited frame. Of an oversized frame only its size and its edges are kept
// (`text`: the first bytes, `tail`: the last; enough to find whose reply it was); the rest
// was discarded up to the next newline.
struct frame {
  std::string text;
  bool oversized = false;
  std::size_t size = 0;
  std::string tail;
};

// Splits a byte stream into newline-delimited messages (the MCP stdio framing).
// A trailing '\r' is dropped, blank lines are skipped, and a line longer than `max_size`
// bytes is never buffered whole: it is reported once as oversized and skipped.
class line_framer {
 public:
  static constexpr std::size_t default_max_size = 4 * 1024 * 1024;
  static constexpr std::size_t edge_bytes = 1024;  // kept of each end of an oversized line

  explicit line_framer(std::size_t max_size = default_max_size) : max_size_(max_size) {}

  void append(std::string_view bytes);
  // The next complete frame, or nullopt until more bytes arrive.
  std::optional<frame> next();
  // At end of stream: the unterminated last line, if it holds anything but blanks.
  std::optional<frame> finish();
  // Bytes held that do not yet end in a newline (what is lost if the stream ends now).
  [[nodiscard]] std::size_t pending() const { return buffer_.size() - begin_; }

 private:
  std::size_t max_size_;
  std::string buffer_;
  std::size_t begin_ = 0;      // start of the unread part of buffer_
  std::size_t scanned_ = 0;    // bytes after begin_ already known to hold no newline
  bool discarding_ = false;    // inside an oversized line, dropping bytes to the newline
  std::size_t discarded_ = 0;  // size of the oversized line so far
  std::string head_;           // its first bytes
  std::string tail_;           // its last bytes so far
};

}  // namespace manifold::protocol
