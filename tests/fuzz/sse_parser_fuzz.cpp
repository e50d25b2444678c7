// The SSE parser on any bytes, split anywhere: bounded events, same events whatever the split.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/protocol/sse_parser.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);  // NOLINT
  constexpr std::size_t limit = 128;
  const auto events = [&](std::size_t step) {
    manifold::protocol::sse_parser parser(limit);
    std::vector<std::string> out;
    for (std::size_t i = 0; i < bytes.size() && !parser.error(); i += step) {
      parser.append(bytes.substr(i, step));
      while (auto e = parser.next()) {
        if (e->data.size() > limit) __builtin_trap();
        out.push_back(e->event + "|" + e->id + "|" + e->data);
      }
    }
    out.push_back(parser.error() ? "error" : "ok");
    return out;
  };
  const auto whole = events(bytes.size());
  const auto split = events(1 + data[0] % 5);
  // A stream that errors part-way may have delivered fewer events before the error; the
  // events both saw must agree.
  for (std::size_t i = 0; i + 1 < whole.size() && i + 1 < split.size(); ++i) {
    if (whole[i] != split[i]) __builtin_trap();
  }
  return 0;
}
