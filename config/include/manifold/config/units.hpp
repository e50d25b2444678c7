#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace manifold::config {

// "250ms", "30s", "2m", "1h"; a bare number is seconds. nullopt when not a duration.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// "4MiB", "512KiB", "1GiB", "100KB", or a bare number of bytes. nullopt when not a size.
std::optional<std::size_t> parse_size(std::string_view text);

// A rate: "10/s", "600/m", "5000/h" (a count of at least 1 per second, minute or hour).
struct rate {
  std::uint64_t count = 0;
  std::chrono::milliseconds period{0};
};
std::optional<rate> parse_rate(std::string_view text);

}  // namespace manifold::config
