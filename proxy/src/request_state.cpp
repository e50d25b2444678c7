#include "request_state.hpp"

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <stdexcept>

namespace manifold::proxy {

using protocol::json;

namespace {

constexpr std::string_view purpose = "mrtr1";
constexpr int format = 1;

std::string hex(const unsigned char* data, std::size_t size) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (std::size_t i = 0; i < size; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0x0f]);
  }
  return out;
}

std::shared_ptr<const key_ring> random_ring() {
  std::string secret(32, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(secret.data()), static_cast<int>(secret.size())) != 1) {
    throw std::runtime_error("OpenSSL: no random bytes for the requestState key");
  }
  return std::make_shared<const key_ring>(std::vector<session_key>{{"p", std::move(secret)}});
}

}  // namespace

std::string request_digest(std::string_view method, const json& params) {
  std::string what(method);
  what.push_back('\x1f');
  const auto* target = protocol::member(params, method == "resources/read" ? "uri" : "name");
  what += target != nullptr ? target->dump() : "null";
  what.push_back('\x1f');
  const auto* arguments = protocol::member(params, "arguments");
  // An absent or null `arguments` is the empty object (SDKs send either for no arguments).
  what += arguments != nullptr && !arguments->is_null() ? arguments->dump() : "{}";
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  if (EVP_Digest(what.data(), what.size(), digest, &size, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("OpenSSL: SHA-256 failed");
  }
  return hex(digest, size);
}

request_state_codec::request_state_codec() : keys_(random_ring()) {}

request_state_codec::request_state_codec(std::shared_ptr<const key_ring> keys) : keys_(std::move(keys)) {}

std::string request_state_codec::seal(const request_state& state) const {
  const json payload{{"v", format},          {"c", state.call},   {"r", state.round},
                     {"s", state.subject},   {"m", state.method}, {"d", state.digest},
                     {"e", state.expires}};
  return keys_->seal(purpose, payload.dump());
}

request_state_codec::opened request_state_codec::open(std::string_view token, std::string_view subject,
                                                      std::string_view method, std::string_view digest,
                                                      std::int64_t now) const {
  const auto sealed = keys_->open(purpose, token);
  if (!sealed.plaintext) {
    return {std::nullopt, sealed.why == key_ring::failure::forged ? problem::forged : problem::malformed};
  }
  const auto parsed = protocol::parse_json(*sealed.plaintext);
  const auto& j = parsed.value;
  const auto version = protocol::integer_member(j, "v");
  const auto call = protocol::string_member(j, "c");
  const auto round = protocol::integer_member(j, "r");
  const auto who = protocol::string_member(j, "s");
  const auto asked = protocol::string_member(j, "m");
  const auto what = protocol::string_member(j, "d");
  const auto expires = protocol::integer_member(j, "e");
  if (!version || *version != format || !call || !round || *round < 0 || !who || !asked || !what || !expires) {
    return {std::nullopt, problem::malformed};
  }
  if (*expires <= now) return {std::nullopt, problem::expired};
  if (*who != subject) return {std::nullopt, problem::wrong_subject};
  if (*asked != method || *what != digest) return {std::nullopt, problem::wrong_request};
  request_state out;
  out.call = std::string(*call);
  out.round = static_cast<std::uint64_t>(*round);
  out.subject = std::string(*who);
  out.method = std::string(*asked);
  out.digest = std::string(*what);
  out.expires = *expires;
  return {std::move(out), problem::none};
}

const char* to_string(request_state_codec::problem why) {
  switch (why) {
    case request_state_codec::problem::none:
      return "none";
    case request_state_codec::problem::malformed:
      return "malformed";
    case request_state_codec::problem::forged:
      return "forged";
    case request_state_codec::problem::expired:
      return "expired";
    case request_state_codec::problem::wrong_subject:
      return "sealed for another principal";
    case request_state_codec::problem::wrong_request:
      return "sealed for another request";
  }
  return "?";
}

}  // namespace manifold::proxy
