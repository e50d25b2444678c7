#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Pure naming rules: which characters and lengths hosts accept, and how manifold maps and
// shortens names deterministically to fit them.
namespace manifold::ns {

// [A-Za-z0-9_-] (what Claude, Cursor and most LLM APIs accept) or the MCP spec's
// [A-Za-z0-9_.-].
enum class charset { strict, spec };

// What a host accepts: characters, name length, and how many tools it handles well.
struct host_profile {
  charset chars = charset::strict;
  std::size_t max_length = 64;
  std::size_t tool_cap = 0;  // 0: no cap
};

// claude, cursor, vscode or spec; nullopt for an unknown name.
std::optional<host_profile> profile_named(std::string_view name);

bool allowed_char(char c, charset chars);
// Every character outside `chars` becomes '_'.
std::string map_characters(std::string_view name, charset chars);
// A short stable hash (8 hex digits, FNV-1a 32) of `text`: the same everywhere, always.
std::string stable_hash(std::string_view text);
// `name` cut to `max_length` with "_<hash of identity>" at the end, so that two long names
// that share a prefix stay distinct. Names that fit are returned unchanged.
std::string shorten(std::string_view name, std::size_t max_length, std::string_view identity);

// `name` + "_<hash of identity>", cut so that the whole fits `max_length`.
std::string with_hash(std::string_view name, std::size_t max_length, std::string_view identity);

// Glob match with `*` (any run, including none) and `?` (one character).
bool glob_match(std::string_view pattern, std::string_view text);

}  // namespace manifold::ns
