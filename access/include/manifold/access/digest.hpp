#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

// Small OpenSSL-backed primitives the access library shares: digests, MACs, randomness and
// constant-time comparison. Bytes travel as std::string.
namespace manifold::access {

// Lowercase hex of `bytes`, and back (nullopt on odd length or a non-hex character).
std::string to_hex(std::string_view bytes);
std::optional<std::string> from_hex(std::string_view hex);

std::string sha256(std::string_view data);      // 32 raw bytes
std::string sha256_hex(std::string_view data);  // 64 hex digits

enum class digest_kind { sha256, sha384, sha512 };
// HMAC of `data` under `key`.
std::string hmac(digest_kind digest, std::string_view key, std::string_view data);

// `n` bytes from OpenSSL's CSPRNG. Throws std::runtime_error if it has none to give (an
// unexpected condition, not an input error).
std::string random_bytes(std::size_t n);

// Equal contents, in time that depends on the length only (CRYPTO_memcmp).
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace manifold::access
