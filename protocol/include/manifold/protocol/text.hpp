#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

// Small text and byte helpers used across manifold, each in exactly one place.
namespace manifold::protocol {

// ASCII lowercase (host names, URL schemes, header names and search terms compare
// case-insensitively); other bytes pass unchanged.
std::string lower_ascii(std::string_view text);

// RFC 4648 base64 with padding (HTTP Basic credentials).
std::string base64_encode(std::string_view bytes);
// RFC 4648 base64url without padding (JWTs, PKCE, cursors, ids).
std::string base64url_encode(std::string_view bytes);
// Strict: only the base64url alphabet, no padding, no trailing bits set; nullopt otherwise.
std::optional<std::string> base64url_decode(std::string_view text);

// `count` bytes from OpenSSL's CSPRNG; throws std::runtime_error when it has none.
std::string random_bytes(std::size_t count);

// SHA-256 of `bytes`: raw (32 bytes) or as lowercase hex.
std::string sha256(std::string_view bytes);
std::string sha256_hex(std::string_view bytes);
std::string hex(std::string_view bytes);
// FNV-1a, 32 bits: a fast, stable, non-cryptographic checksum (names, cursors).
std::uint32_t fnv1a32(std::string_view bytes);

// `text` safe for one log line: control bytes and DEL become \n, \t, \xNN; at most
// `max_bytes` of input are shown, then "..." (a peer's bytes never forge log lines).
std::string log_safe(std::string_view text, std::size_t max_bytes = 500);

}  // namespace manifold::protocol
