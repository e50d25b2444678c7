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

constexpr int max_nesting = 8;

// The position of the `}` that closes the `${` whose body starts at `from`, counting nested
// `${ ... }`; npos when there is none.
std::size_t closing_brace(std::string_view text, std::size_t from) {
  int depth = 1;
  for (auto i = from; i < text.size(); ++i) {
    if (text[i] == '$' && i + 1 < text.size() && text[i + 1] == '{') {
      ++depth;
      ++i;
    } else if (text[i] == '}' && --depth == 0) {
      return i;
    }
  }
  return std::string_view::npos;
}

interpolation_result expand(std::string_view text,
                            const std::function<std::optional<std::string>(const std::string&)>& env,
                            int nesting);

}  // namespace

interpolation_result interpolate(
    std::string_view text,
    const std::function<std::optional<std::string>(const std::string&)>& env) {
  return expand(text, env, 0);
}

namespace {

interpolation_result expand(std::string_view text,
                            const std::function<std::optional<std::string>(const std::string&)>& env,
                            int nesting) {
  interpolation_result out;
  if (nesting > max_nesting) {
    out.error = "${...} defaults nested more than " + std::to_string(max_nesting) + " deep";
    return out;
  }
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
    const auto close = closing_brace(text, i + 2);
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
      // The default may itself hold ${...} (${A:-${B:-c}}).
      auto fallback = expand(inner.substr(sep + 2), env, nesting + 1);
      if (!fallback.error.empty()) return fallback;
      out.value += fallback.value;
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

}  // namespace

}  // namespace manifold::config
