// The stdio framer: any bytes, split anywhere, give frames within the size bound, and the
// same frames whatever the split.
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "manifold/protocol/line_framer.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);  // NOLINT
  constexpr std::size_t limit = 64;
  const auto frames = [&](std::size_t step) {
    manifold::protocol::line_framer framer(limit);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < bytes.size(); i += step) {
      framer.append(bytes.substr(i, step));
      while (auto f = framer.next()) {
        if (!f->oversized && f->text.size() > limit) __builtin_trap();
        if (f->text.size() > limit + manifold::protocol::line_framer::edge_bytes) __builtin_trap();
        out.push_back(f->oversized ? "<oversized " + std::to_string(f->size) + ">" : f->text);
      }
    }
    if (auto f = framer.finish()) out.push_back(f->oversized ? "<oversized " + std::to_string(f->size) + ">" : f->text);
    return out;
  };
  const auto whole = frames(bytes.size());
  const auto split = frames(1 + data[0] % 7);
  if (whole != split) __builtin_trap();
  return 0;
}
