#include "manifold/config/units.hpp"

#include <charconv>
#include <cstdint>
#include <limits>
#include <string>

namespace manifold::config {

namespace {

struct number_and_suffix {
  std::uint64_t number = 0;
  std::string_view suffix;
};

std::optional<number_and_suffix> split(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  number_and_suffix out;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), out.number);
  if (ec != std::errc{} || end == text.data()) return std::nullopt;
  out.suffix = text.substr(static_cast<std::size_t>(end - text.data()));
  while (!out.suffix.empty() && out.suffix.front() == ' ') out.suffix.remove_prefix(1);
  return out;
}

std::optional<std::uint64_t> scaled(std::uint64_t n, std::uint64_t factor) {
  if (n > std::numeric_limits<std::uint64_t>::max() / factor) return std::nullopt;
  return n * factor;
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  const auto parts = split(text);
  if (!parts) return std::nullopt;
  std::uint64_t factor = 0;
  if (parts->suffix == "ms") {
    factor = 1;
  } else if (parts->suffix.empty() || parts->suffix == "s") {
    factor = 1000;
  } else if (parts->suffix == "m") {
    factor = 60'000;
  } else if (parts->suffix == "h") {
    factor = 3'600'000;
  } else {
    return std::nullopt;
  }
  const auto ms = scaled(parts->number, factor);
  if (!ms || *ms > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
    return std::nullopt;
  }
  return std::chrono::milliseconds(static_cast<std::int64_t>(*ms));
}

std::optional<std::size_t> parse_size(std::string_view text) {
  const auto parts = split(text);
  if (!parts) return std::nullopt;
  std::uint64_t factor = 0;
  const auto s = parts->suffix;
  if (s.empty() || s == "B") {
    factor = 1;
  } else if (s == "KiB") {
    factor = 1024;
  } else if (s == "MiB") {
    factor = 1024 * 1024;
  } else if (s == "GiB") {
    factor = 1024ULL * 1024 * 1024;
  } else if (s == "KB" || s == "kB") {
    factor = 1000;
  } else if (s == "MB") {
    factor = 1000 * 1000;
  } else {
    return std::nullopt;
  }
  const auto bytes = scaled(parts->number, factor);
  if (!bytes) return std::nullopt;
  return static_cast<std::size_t>(*bytes);
}

std::optional<rate> parse_rate(std::string_view text) {
  const auto slash = text.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  const auto parts = split(text.substr(0, slash));
  if (!parts || !parts->suffix.empty() || parts->number == 0) return std::nullopt;
  auto unit = text.substr(slash + 1);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  while (!unit.empty() && unit.back() == ' ') unit.remove_suffix(1);
  rate out{parts->number, std::chrono::milliseconds(0)};
  if (unit == "s") {
    out.period = std::chrono::seconds(1);
  } else if (unit == "m") {
    out.period = std::chrono::minutes(1);
  } else if (unit == "h") {
    out.period = std::chrono::hours(1);
  } else {
    return std::nullopt;
  }
  return out;
}

}  // namespace manifold::config
