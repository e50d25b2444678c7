#include "manifold/exec/output_buffer.hpp"

namespace manifold::exec {

namespace {

bool continuation(char c) { return (static_cast<unsigned char>(c) & 0xC0U) == 0x80U; }

}  // namespace

void output_buffer::append(std::string_view bytes) {
  total_ += bytes.size();
  if (keep_ == config::keep_part::head) {
    if (buffer_.size() < max_) buffer_.append(bytes.substr(0, max_ - buffer_.size()));
    return;
  }
  if (bytes.size() >= max_) {
    buffer_.assign(bytes.substr(bytes.size() - max_));
    return;
  }
  buffer_.append(bytes);
  if (buffer_.size() > 2 * max_) buffer_.erase(0, buffer_.size() - max_);
}

std::string output_buffer::kept() const {
  if (keep_ == config::keep_part::head) {
    if (!truncated()) return buffer_;
    // Drop a character cut in half at the end.
    std::size_t lead = buffer_.size();
    while (lead > 0 && buffer_.size() - lead < 4 && continuation(buffer_[lead - 1])) --lead;
    std::size_t end = buffer_.size();
    if (lead > 0) {
      const auto c = static_cast<unsigned char>(buffer_[lead - 1]);
      const std::size_t need = c >= 0xF0U ? 4 : c >= 0xE0U ? 3 : c >= 0xC0U ? 2 : 1;
      if (buffer_.size() - (lead - 1) < need) end = lead - 1;
    }
    return buffer_.substr(0, end);
  }
  std::size_t start = buffer_.size() > max_ ? buffer_.size() - max_ : 0;
  if (truncated()) {
    while (start < buffer_.size() && continuation(buffer_[start])) ++start;
  }
  return buffer_.substr(start);
}

std::string output_buffer::text() const {
  if (!truncated()) return buffer_;
  const auto marker = "[manifold: output truncated: kept the " +
                      std::string(keep_ == config::keep_part::head ? "first " : "last ") +
                      std::to_string(max_) + " of " + std::to_string(total_) + " bytes]";
  if (keep_ == config::keep_part::head) return kept() + "\n" + marker + "\n";
  return marker + "\n" + kept();
}

}  // namespace manifold::exec
