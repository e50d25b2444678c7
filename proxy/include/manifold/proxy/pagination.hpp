#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace manifold::proxy {

// manifold's own list cursors: opaque to hosts, tied to one list (`list_id`, e.g. the
// method) of one catalog generation, so a cursor stays valid while that catalog is served
// and is refused (-32602) after it changed or when it was never issued.
std::string encode_cursor(std::string_view list_id, std::uint64_t generation, std::size_t offset);
std::optional<std::size_t> decode_cursor(std::string_view cursor, std::string_view list_id,
                                         std::uint64_t generation);

}  // namespace manifold::proxy
