#include "manifold/config/argv_template.hpp"

namespace manifold::config {

namespace {

bool name_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool name_char(char c) { return name_start(c) || (c >= '0' && c <= '9'); }

}  // namespace

parsed_template parse_template(std::string_view text) {
  parsed_template out;
  std::string literal;
  std::size_t i = 0;
  while (i < text.size()) {
    if (text.compare(i, 2, "}}") == 0) {
      out.error = "`}}` without a matching `{{`";
      return out;
    }
    if (text.compare(i, 2, "{{") != 0) {
      literal += text[i++];
      continue;
    }
    const auto close = text.find("}}", i + 2);
    if (close == std::string_view::npos) {
      out.error = "`{{` without a closing `}}`";
      return out;
    }
    const auto name = text.substr(i + 2, close - i - 2);
    bool valid = !name.empty() && name_start(name.front());
    for (const char c : name) valid = valid && name_char(c);
    if (!valid) {
      out.error =
          "`{{" + std::string(name) + "}}` is not a parameter slot (names use [A-Za-z0-9_])";
      return out;
    }
    if (!literal.empty()) out.pieces.push_back({false, std::move(literal)});
    literal.clear();
    out.pieces.push_back({true, std::string(name)});
    i = close + 2;
  }
  if (!literal.empty()) out.pieces.push_back({false, std::move(literal)});
  return out;
}

}  // namespace manifold::config
