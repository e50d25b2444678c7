#include "manifold/protocol/line_framer.hpp"

#include <algorithm>

namespace manifold::protocol {

namespace {

bool is_blank(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return c == ' ' || c == '\t' || c == '\r'; });
}

}  // namespace

void line_framer::append(std::string_view bytes) {
  if (begin_ > 0 && begin_ == buffer_.size()) {
    buffer_.clear();
    begin_ = 0;
  } else if (begin_ > 64 * 1024 && begin_ * 2 > buffer_.size()) {
    buffer_.erase(0, begin_);
    begin_ = 0;
  }
  buffer_.append(bytes);
}

std::optional<frame> line_framer::next() {
  while (true) {
    const std::string_view unread(buffer_.data() + begin_, buffer_.size() - begin_);
    const auto nl = unread.find('\n', scanned_);
    if (nl == std::string_view::npos) {
      scanned_ = unread.size();
      if (!discarding_ && unread.size() > max_size_) {
        discarding_ = true;
        discarded_ = 0;
      }
      if (discarding_) {
        discarded_ += unread.size();
        begin_ = buffer_.size();
        scanned_ = 0;
      }
      return std::nullopt;
    }
    std::string_view line = unread.substr(0, nl);
    begin_ += nl + 1;
    scanned_ = 0;
    if (discarding_) {
      discarding_ = false;
      return frame{{}, true, discarded_ + line.size()};
    }
    if (line.size() > max_size_) return frame{{}, true, line.size()};
    if (is_blank(line)) continue;
    if (line.back() == '\r') line.remove_suffix(1);
    return frame{std::string(line), false, line.size()};
  }
}

std::optional<frame> line_framer::finish() {
  if (discarding_) {
    discarding_ = false;
    const auto size = discarded_ + pending();
    begin_ = buffer_.size();
    return frame{{}, true, size};
  }
  std::string_view rest(buffer_.data() + begin_, buffer_.size() - begin_);
  begin_ = buffer_.size();
  scanned_ = 0;
  if (is_blank(rest)) return std::nullopt;
  if (rest.size() > max_size_) return frame{{}, true, rest.size()};
  if (rest.back() == '\r') rest.remove_suffix(1);
  return frame{std::string(rest), false, rest.size()};
}

}  // namespace manifold::protocol
