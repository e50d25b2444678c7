#include "manifold/protocol/text.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <array>
#include <stdexcept>

namespace manifold::protocol {

namespace {

constexpr std::string_view base64_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view base64url_alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::string_view hex_digits = "0123456789abcdef";

std::string encode(std::string_view bytes, std::string_view alphabet, bool pad) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t buffer = 0;
  unsigned bits = 0;
  for (const char c : bytes) {
    buffer = (buffer << 8U) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(buffer >> bits) & 0x3FU];
    }
  }
  if (bits > 0) out += alphabet[(buffer << (6U - bits)) & 0x3FU];
  while (pad && out.size() % 4 != 0) out += '=';
  return out;
}

}  // namespace

std::string lower_ascii(std::string_view text) {
  std::string out(text);
  for (auto& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string base64_encode(std::string_view bytes) { return encode(bytes, base64_alphabet, true); }

std::string base64url_encode(std::string_view bytes) {
  return encode(bytes, base64url_alphabet, false);
}

std::optional<std::string> base64url_decode(std::string_view text) {
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t buffer = 0;
  unsigned bits = 0;
  for (const char c : text) {
    const auto pos = base64url_alphabet.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6U) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFFU);
    }
  }
  if ((buffer & ((1U << bits) - 1U)) != 0) return std::nullopt;  // non-canonical tail
  return out;
}

std::string random_bytes(std::size_t count) {
  std::string out(count, '\0');
  if (count > 0 &&
      RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(count)) != 1) {  // NOLINT
    throw std::runtime_error("no random bytes from OpenSSL");
  }
  return out;
}

std::string sha256(std::string_view bytes) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  unsigned int size = 0;
  // Fetched once: OpenSSL 3 otherwise looks the algorithm up (under a lock) on every call,
  // which costs more than hashing a short input.
  static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  EVP_Digest(bytes.data(), bytes.size(), digest.data(), &size, md != nullptr ? md : EVP_sha256(), nullptr);
  return {digest.begin(), digest.begin() + size};
}

std::string sha256_hex(std::string_view bytes) { return hex(sha256(bytes)); }

std::string hex(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (const char c : bytes) {
    const auto b = static_cast<unsigned char>(c);
    out += hex_digits[b >> 4U];
    out += hex_digits[b & 0xFU];
  }
  return out;
}

std::uint32_t fnv1a32(std::string_view bytes) {
  std::uint32_t h = 2166136261U;
  for (const char c : bytes) h = (h ^ static_cast<unsigned char>(c)) * 16777619U;
  return h;
}

std::string log_safe(std::string_view text, std::size_t max_bytes) {
  std::string out;
  const auto shown = std::min(text.size(), max_bytes);
  out.reserve(shown + 8);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto b = static_cast<unsigned char>(text[i]);
    if (b == '\n') {
      out += "\\n";
    } else if (b == '\r') {
      out += "\\r";
    } else if (b == '\t') {
      out += "\\t";
    } else if (b < 0x20 || b == 0x7F) {
      out += "\\x";
      out += hex_digits[b >> 4U];
      out += hex_digits[b & 0xFU];
    } else {
      out += static_cast<char>(b);
    }
  }
  if (shown < text.size()) out += "...";
  return out;
}

}  // namespace manifold::protocol
