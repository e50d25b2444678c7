#pragma once

#include <chrono>
#include <cstddef>
#include <optional>
#include <string_view>

namespace manifold::config {

// "250ms", "30s", "2m", "1h"; a bare number is seconds. nullopt when not a duration.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// "4MiB", "512KiB", "1GiB", "100KB", or a bare number of bytes. nullopt when not a size.
std::optional<std::size_t> parse_size(std::string_view text);

}  // namespace manifold::config
