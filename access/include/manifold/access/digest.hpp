#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "manifold/protocol/text.hpp"

// Small OpenSSL-backed primitives the access library shares: MACs, hex decoding and
// constant-time comparison; digests, base64url and randomness are protocol/text's. Bytes
// travel as std::string.
namespace manifold::access {

using protocol::base64url_decode;
using protocol::base64url_encode;
using protocol::random_bytes;
using protocol::sha256;
using protocol::sha256_hex;

// Lowercase hex of `bytes` (protocol::hex), and back (nullopt on odd length or a non-hex
// character).
inline std::string to_hex(std::string_view bytes) { return protocol::hex(bytes); }
std::optional<std::string> from_hex(std::string_view hex);

enum class digest_kind { sha256, sha384, sha512 };
// HMAC of `data` under `key`.
std::string hmac(digest_kind digest, std::string_view key, std::string_view data);

// Equal contents, in time that depends on the length only (CRYPTO_memcmp).
bool equal_constant_time(std::string_view a, std::string_view b);

}  // namespace manifold::access
