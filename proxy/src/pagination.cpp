#include "manifold/proxy/pagination.hpp"

#include <array>
#include <charconv>

#include "manifold/protocol/text.hpp"

namespace manifold::proxy {

namespace {

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
  return protocol::base64url_encode(body + "." + std::to_string(protocol::fnv1a32(std::string(list_id) + body)));
}

std::optional<std::size_t> decode_cursor(std::string_view cursor, std::string_view list_id,
                                         std::uint64_t generation) {
  if (cursor.size() > 128) return std::nullopt;
  const auto text = protocol::base64url_decode(cursor);
  if (!text || text->rfind("m1.", 0) != 0) return std::nullopt;
  const auto last = text->rfind('.');
  const auto body = std::string_view(*text).substr(0, last);
  const auto sum = number<std::uint32_t>(std::string_view(*text).substr(last + 1));
  if (!sum || *sum != protocol::fnv1a32(std::string(list_id) + std::string(body))) return std::nullopt;
  const auto rest = body.substr(3);
  const auto dot = rest.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  const auto gen = number<std::uint64_t>(rest.substr(0, dot));
  const auto offset = number<std::size_t>(rest.substr(dot + 1));
  if (!gen || !offset || *gen != generation) return std::nullopt;
  return offset;
}

}  // namespace manifold::proxy
