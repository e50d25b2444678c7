// manifold's list cursors: any text decodes to nothing or to an offset whose own cursor
// decodes to the same offset.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "manifold/proxy/pagination.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  const auto offset = manifold::proxy::decode_cursor(text, "tools/list@", 7);
  if (offset) {
    const auto again = manifold::proxy::encode_cursor("tools/list@", 7, *offset);
    if (manifold::proxy::decode_cursor(again, "tools/list@", 7) != offset) __builtin_trap();
    if (manifold::proxy::decode_cursor(again, "prompts/list@", 7)) __builtin_trap();
  }
  return 0;
}
