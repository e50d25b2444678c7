#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace manifold::protocol {

// One server-sent event (WHATWG HTML, "Server-sent events", event stream interpretation).
struct sse_event {
  std::string id;     // the last event id seen on the stream (ids carry over)
  std::string event = "message";
  std::string data;   // lines joined with '\n'
  std::optional<long> retry;  // reconnection time in ms, when the server set it
};

// Incremental parser for a text/event-stream body: feed bytes as they arrive, take events
// as they complete. Comments and unknown fields are ignored; an event whose data is empty
// (a priming event that only sets the id) is reported with empty data so callers can track
// the id. A line, or an event's data lines together, longer than `max_line` bytes abort the
// stream (error()).
class sse_parser {
 public:
  explicit sse_parser(std::size_t max_line = 4 * 1024 * 1024) : max_line_(max_line) {}

  void append(std::string_view bytes) { buffer_.append(bytes); }
  std::optional<sse_event> next();
  [[nodiscard]] bool error() const { return error_; }
  [[nodiscard]] const std::string& last_event_id() const { return last_id_; }

 private:
  std::size_t max_line_;
  std::string buffer_;
  std::size_t pos_ = 0;
  std::string last_id_;
  std::string event_;
  std::string data_;
  bool has_data_ = false;
  bool dispatchable_ = false;
  std::optional<long> retry_;
  bool error_ = false;
};

}  // namespace manifold::protocol
