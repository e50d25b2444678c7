#pragma once

#include <optional>
#include <string>
#include <string_view>

// Base64url without padding (RFC 4648 section 5), as JOSE uses it. upstream/src/oauth.cpp has
// an encoder of its own for PKCE; the two can merge into one shared helper later.
namespace manifold::access {

std::string base64url_encode(std::string_view bytes);

// Strict: only [A-Za-z0-9_-], no padding, no whitespace, and the unused low bits of the last
// character must be zero (one byte string has exactly one encoding). nullopt otherwise.
std::optional<std::string> base64url_decode(std::string_view text);

}  // namespace manifold::access
