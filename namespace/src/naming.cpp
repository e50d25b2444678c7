#include "manifold/namespace/naming.hpp"

#include <algorithm>
#include <array>
#include <cstdio>

#include "manifold/protocol/text.hpp"

namespace manifold::ns {

std::optional<host_profile> profile_named(std::string_view name) {
  if (name == "claude") return host_profile{charset::strict, 64, 0};
  if (name == "cursor") return host_profile{charset::strict, 60, 40};
  if (name == "vscode") return host_profile{charset::strict, 64, 128};
  if (name == "spec") return host_profile{charset::spec, 128, 0};
  return std::nullopt;
}

bool allowed_char(char c, charset chars) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-' || (chars == charset::spec && c == '.');
}

std::string map_characters(std::string_view name, charset chars) {
  std::string out(name);
  for (auto& c : out) {
    if (!allowed_char(c, chars)) c = '_';
  }
  return out;
}

std::string stable_hash(std::string_view text) {
  std::array<char, 9> buf{};
  std::snprintf(buf.data(), buf.size(), "%08x", protocol::fnv1a32(text));
  return std::string(buf.data(), 8);
}

std::string shorten(std::string_view name, std::size_t max_length, std::string_view identity) {
  if (name.size() <= max_length) return std::string(name);
  const auto suffix = "_" + stable_hash(identity);
  if (max_length <= suffix.size()) return suffix.substr(suffix.size() - max_length);
  return std::string(name.substr(0, max_length - suffix.size())) + suffix;
}

std::string with_hash(std::string_view name, std::size_t max_length, std::string_view identity) {
  const auto suffix = "_" + stable_hash(identity);
  if (max_length <= suffix.size()) return suffix.substr(suffix.size() - max_length);
  return std::string(name.substr(0, std::min(name.size(), max_length - suffix.size()))) + suffix;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

}  // namespace manifold::ns
