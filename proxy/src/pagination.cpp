#include "manifold/proxy/pagination.hpp"

#include <array>
#include <charconv>

namespace manifold::proxy {

namespace {

constexpr std::string_view alphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string base64url(std::string_view in) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : in) {
    buffer = (buffer << 8U) | static_cast<unsigned char>(c);
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += alphabet[(buffer >> static_cast<unsigned>(bits)) & 0x3FU];
    }
  }
  if (bits > 0) out += alphabet[(buffer << static_cast<unsigned>(6 - bits)) & 0x3FU];
  return out;
}

std::optional<std::string> unbase64url(std::string_view in) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (const char c : in) {
    const auto pos = alphabet.find(c);
    if (pos == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 6U) | static_cast<std::uint32_t>(pos);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU);
    }
  }
  return out;
}

// A short checksum so that a cursor for one list is never read as one for another.
std::uint32_t checksum(std::string_view s) {
  std::uint32_t h = 2166136261U;
  for (const char c : s) h = (h ^ static_cast<unsigned char>(c)) * 16777619U;
  return h;
}

template <typename T>
std::optional<T> number(std::string_view s) {
  T out{};
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
  return out;
}

}  // namespace

std::string encode_cursor(std::string_view list_id, std::uint64_t generation, std::size_t offset) {
  const auto body = "m1." + std::to_string(generation) + "." + std::to_string(offset);
  return base64url(body + "." + std::to_string(checksum(std::string(list_id) + body)));
}

std::optional<std::size_t> decode_cursor(std::string_view cursor, std::string_view list_id,
                                         std::uint64_t generation) {
  if (cursor.size() > 128) return std::nullopt;
  const auto text = unbase64url(cursor);
  if (!text || text->rfind("m1.", 0) != 0) return std::nullopt;
  const auto last = text->rfind('.');
  const auto body = std::string_view(*text).substr(0, last);
  const auto sum = number<std::uint32_t>(std::string_view(*text).substr(last + 1));
  if (!sum || *sum != checksum(std::string(list_id) + std::string(body))) return std::nullopt;
  const auto rest = body.substr(3);
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto gen = number<std::uint64_t>(rest.substr(0, dot));
  const auto offset = number<std::size_t>(rest.substr(dot + 1));
  if (!gen || !offset || *gen != generation) return std::nullopt;
  return offset;
}

}  // namespace manifold::proxy
