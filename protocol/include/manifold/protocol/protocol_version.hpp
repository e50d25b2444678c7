#pragma once

#include <array>
#include <string_view>

namespace manifold::protocol {

// Handshake-era MCP revisions manifold speaks, newest first.
inline constexpr std::array<std::string_view, 4> supported_versions{
    "2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"};
inline constexpr std::string_view latest_version = supported_versions.front();

bool is_supported_version(std::string_view version);

// The version a server answers an initialize with: the client's if supported, else the
// newest this side supports (the client then decides whether to continue).
std::string_view negotiate_version(std::string_view requested);

}  // namespace manifold::protocol
