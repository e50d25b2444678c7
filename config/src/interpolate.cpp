#include "manifold/config/interpolate.hpp"

#include <cctype>

namespace manifold::config {

namespace {

bool valid_name(std::string_view name) {
  if (name.empty() || std::isdigit(static_cast<unsigned char>(name.front())) != 0) return false;
  for (const char c : name) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '_') return false;
  }
  return true;
}

}  // namespace

interpolation_result interpolate(
    std::string_view text,
    const std::function<std::optional<std::string>(const std::string&)>& env) {
  interpolation_result out;
  std::size_t i = 0;
  while (i < text.size()) {
    const char c = text[i];
    if (c != '$' || i + 1 >= text.size()) {
      out.value += c;
      ++i;
      continue;
    }
    if (text[i + 1] == '$') {
      out.value += '$';
      i += 2;
      continue;
    }
    if (text[i + 1] != '{') {
      out.value += c;
      ++i;
      continue;
    }
    const auto close = text.find('}', i + 2);
    if (close == std::string_view::npos) {
      out.error = "unterminated ${ in \"" + std::string(text) + "\"";
      return out;
    }
    const std::string_view inner = text.substr(i + 2, close - i - 2);
    const auto sep = inner.find(":-");
    const std::string_view name = inner.substr(0, sep);
    if (name.substr(0, 6) == "input:") {
      out.error = "VS Code ${input:...} prompts cannot be answered here; use ${ENV_VAR}";
      return out;
    }
    const bool pack_var = name.substr(0, 4) == "var:";
    if (!valid_name(pack_var ? name.substr(4) : name)) {
      out.error = "invalid variable name \"" + std::string(name) + "\" in ${...}";
      return out;
    }
    const auto value = env(std::string(name));
    if (value && !value->empty()) {
      out.value += *value;
    } else if (sep != std::string_view::npos) {
      out.value += inner.substr(sep + 2);
    } else if (value) {
      // Set but empty, and no default: the empty value stands.
    } else if (pack_var) {
      out.error = "pack variable `" + std::string(name.substr(4)) +
                  "` is not declared (packs declare theirs under `vars:`; an include sets them)";
      return out;
    } else {
      out.error = "environment variable " + std::string(name) +
                  " is not set (use ${" + std::string(name) + ":-default} for a fallback)";
      return out;
    }
    i = close + 1;
  }
  return out;
}

}  // namespace manifold::config
