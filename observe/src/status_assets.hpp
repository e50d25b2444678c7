#pragma once

// Private to observe/: the assets CMake embeds (embed_assets.cmake writes the definition).

#include <span>

#include "manifold/observe/status_page.hpp"

namespace manifold::observe::detail {

std::span<const status_asset> embedded_assets();

}  // namespace manifold::observe::detail
