// The config loader on any YAML or JSON text: a config or a config_error with positions,
// never a crash, a hang or an expansion past the loader's node bound (aliases are metered).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "manifold/config/config_error.hpp"
#include "manifold/config/config_loader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  const auto env = [](const std::string& name) -> std::optional<std::string> {
    if (name == "HOME") return std::string("/root");
    return std::nullopt;
  };
  try {
    const auto cfg = manifold::config::parse_config(text, "fuzz.yaml", env);
    (void)manifold::config::to_yaml(cfg);
  } catch (const manifold::config::config_error& e) {
    if (e.diagnostics().empty()) __builtin_trap();
  }
  return 0;
}
