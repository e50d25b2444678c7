#include "manifold/protocol/sse_parser.hpp"

#include <charconv>

namespace manifold::protocol {

std::optional<sse_event> sse_parser::next() {
  while (!error_) {
    // Lines end in CRLF, LF or CR.
    const auto end = buffer_.find_first_of("\r\n", pos_);
    if (end == std::string::npos) {
      if (buffer_.size() - pos_ > max_line_) error_ = true;
      if (pos_ > 0) {
        buffer_.erase(0, pos_);
        pos_ = 0;
      }
      return std::nullopt;
    }
    if (buffer_[end] == '\r' && end + 1 == buffer_.size()) return std::nullopt;  // CR of a CRLF?
    std::string_view line(buffer_.data() + pos_, end - pos_);
    pos_ = end + ((buffer_[end] == '\r' && buffer_[end + 1] == '\n') ? 2 : 1);

    if (line.empty()) {  // dispatch
      if (!dispatchable_) continue;
      sse_event e;
      e.id = last_id_;
      if (!event_.empty()) e.event = event_;
      e.data = std::move(data_);
      e.retry = retry_;
      event_.clear();
      data_.clear();
      has_data_ = false;
      dispatchable_ = false;
      retry_.reset();
      return e;
    }
    if (line.front() == ':') continue;  // comment
    const auto colon = line.find(':');
    const auto field = line.substr(0, colon);
    std::string_view value;
    if (colon != std::string_view::npos) {
      value = line.substr(colon + 1);
      if (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    }
    if (field == "data") {
      // One event is one message: its data lines together are bounded like a line.
      if (data_.size() + value.size() + 1 > max_line_) {
        error_ = true;
        return std::nullopt;
      }
      if (has_data_) data_ += '\n';
      data_.append(value);
      has_data_ = true;
      dispatchable_ = true;
    } else if (field == "event") {
      event_ = std::string(value);
      dispatchable_ = true;
    } else if (field == "id") {
      if (value.find('\0') == std::string_view::npos) last_id_ = std::string(value);
      dispatchable_ = true;
    } else if (field == "retry") {
      long ms = 0;
      const auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), ms);
      if (ec == std::errc{} && p == value.data() + value.size()) retry_ = ms;
    }
  }
  return std::nullopt;
}

}  // namespace manifold::protocol
