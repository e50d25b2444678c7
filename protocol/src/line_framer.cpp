#include "manifold/protocol/line_framer.hpp"

#include <algorithm>

namespace manifold::protocol {

namespace {

constexpr auto edge = line_framer::edge_bytes;

// The last `edge` bytes of `kept` followed by `more`.
std::string last_bytes(std::string_view kept, std::string_view more) {
  if (more.size() >= edge) return std::string(more.substr(more.size() - edge));
  std::string out(kept);
  out.append(more);
  if (out.size() > edge) out.erase(0, out.size() - edge);
  return out;
}

frame oversized_frame(std::string head, std::size_t size, std::string tail) {
  frame f;
  f.text = std::move(head);
  f.oversized = true;
  f.size = size;
  f.tail = std::move(tail);
  return f;
}

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
        head_ = std::string(unread.substr(0, edge));
        tail_.clear();
      }
      if (discarding_) {
        discarded_ += unread.size();
        tail_ = last_bytes(tail_, unread);
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
      return oversized_frame(std::move(head_), discarded_ + line.size(), last_bytes(tail_, line));
    }
    if (line.size() > max_size_) {
      return oversized_frame(std::string(line.substr(0, edge)), line.size(), last_bytes({}, line));
    }
    if (is_blank(line)) continue;
    if (line.back() == '\r') line.remove_suffix(1);
    return frame{std::string(line), false, line.size(), {}};
  }
}

std::optional<frame> line_framer::finish() {
  if (discarding_) {
    discarding_ = false;
    const std::string_view rest(buffer_.data() + begin_, buffer_.size() - begin_);
    const auto size = discarded_ + rest.size();
    auto tail = last_bytes(tail_, rest);
    begin_ = buffer_.size();
    return oversized_frame(std::move(head_), size, std::move(tail));
  }
  std::string_view rest(buffer_.data() + begin_, buffer_.size() - begin_);
  begin_ = buffer_.size();
  scanned_ = 0;
  if (is_blank(rest)) return std::nullopt;
  if (rest.size() > max_size_) {
    return oversized_frame(std::string(rest.substr(0, edge)), rest.size(), last_bytes({}, rest));
  }
  if (rest.back() == '\r') rest.remove_suffix(1);
  return frame{std::string(rest), false, rest.size(), {}};
}

}  // namespace manifold::protocol
