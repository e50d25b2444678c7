#include "manifold/proxy/key_ring.hpp"

#include <openssl/evp.h>

#include <memory>
#include <set>
#include <stdexcept>

#include "manifold/protocol/text.hpp"

namespace manifold::proxy {

namespace {

constexpr std::size_t key_bytes = 32;
constexpr std::size_t nonce_bytes = 12;
constexpr std::size_t tag_bytes = 16;
constexpr std::size_t max_token = 64 * 1024;  // nothing legitimate comes near this

using cipher_ctx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

cipher_ctx new_ctx() {
  cipher_ctx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx) throw std::runtime_error("OpenSSL: cannot allocate a cipher context");
  return ctx;
}

const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
unsigned char* bytes(std::string& s) { return reinterpret_cast<unsigned char*>(s.data()); }

bool valid_purpose(std::string_view purpose) {
  if (purpose.empty() || purpose.size() > 8) return false;
  for (const char c : purpose) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  }
  return true;
}

// AES-256-GCM of `plaintext` under `key` with `nonce`, authenticating `aad`: ciphertext|tag.
std::string encrypt(const std::string& key, std::string_view nonce, std::string_view aad,
                    std::string_view plaintext) {
  auto ctx = new_ctx();
  std::string out(plaintext.size() + tag_bytes, '\0');
  int len = 0;
  bool ok = EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) == 1 &&
            EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key), bytes(nonce)) == 1 &&
            EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) == 1 &&
            EVP_EncryptUpdate(ctx.get(), bytes(out), &len, bytes(plaintext), static_cast<int>(plaintext.size())) == 1;
  int tail = 0;
  ok = ok && EVP_EncryptFinal_ex(ctx.get(), bytes(out) + len, &tail) == 1 &&
       EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes),
                           bytes(out) + plaintext.size()) == 1;
  if (!ok) throw std::runtime_error("OpenSSL: AES-256-GCM encryption failed");
  return out;
}

// The plaintext, or nullopt when the tag does not verify.
std::optional<std::string> decrypt(const std::string& key, std::string_view nonce, std::string_view aad,
                                   std::string_view sealed) {
  const auto text_size = sealed.size() - tag_bytes;
  std::string tag(sealed.substr(text_size));
  auto ctx = new_ctx();
  std::string out(text_size, '\0');
  int len = 0;
  bool ok = EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, static_cast<int>(nonce.size()), nullptr) == 1 &&
            EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, bytes(key), bytes(nonce)) == 1 &&
            EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes(aad), static_cast<int>(aad.size())) == 1 &&
            EVP_DecryptUpdate(ctx.get(), bytes(out), &len, bytes(sealed), static_cast<int>(text_size)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes), bytes(tag)) == 1;
  int tail = 0;
  if (!ok || EVP_DecryptFinal_ex(ctx.get(), bytes(out) + len, &tail) != 1) return std::nullopt;
  return out;
}

}  // namespace

key_ring::key_ring(std::vector<session_key> keys) : keys_(std::move(keys)) {
  if (keys_.empty()) throw std::invalid_argument("the session key ring is empty");
  std::set<std::string> seen;
  for (const auto& k : keys_) {
    if (!valid_key_id(k.id)) {
      throw std::invalid_argument("session key id `" + protocol::log_safe(k.id, 40) +
                                  "` must be 1 to 32 characters of A-Z a-z 0-9 _ -");
    }
    if (!seen.insert(k.id).second) throw std::invalid_argument("session key id `" + k.id + "` is repeated");
    if (k.secret.size() != key_bytes) {
      throw std::invalid_argument("session key `" + k.id + "` must be 32 bytes");
    }
  }
}

bool key_ring::valid_key_id(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (const char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::vector<std::string> key_ring::key_ids() const {
  std::vector<std::string> out;
  out.reserve(keys_.size());
  for (const auto& k : keys_) out.push_back(k.id);
  return out;
}

std::string key_ring::seal(std::string_view purpose, std::string_view plaintext) const {
  if (!valid_purpose(purpose)) throw std::invalid_argument("invalid token purpose");
  const auto& key = keys_.front();
  const auto header = std::string(purpose) + "." + key.id + ".";
  const auto nonce = protocol::random_bytes(nonce_bytes);
  return header + protocol::base64url_encode(nonce + encrypt(key.secret, nonce, header, plaintext));
}

key_ring::opened key_ring::open(std::string_view purpose, std::string_view token) const {
  opened out;
  if (token.size() > max_token) return out;
  const auto first = token.find('.');
  const auto second = first == std::string_view::npos ? first : token.find('.', first + 1);
  if (second == std::string_view::npos) return out;
  if (token.substr(0, first) != purpose) {
    out.why = failure::wrong_purpose;
    return out;
  }
  const auto id = token.substr(first + 1, second - first - 1);
  const auto header = token.substr(0, second + 1);
  const auto raw = protocol::base64url_decode(token.substr(second + 1));
  if (!valid_key_id(id) || !raw || raw->size() < nonce_bytes + tag_bytes) return out;
  const session_key* key = nullptr;
  for (const auto& k : keys_) {
    if (k.id == id) key = &k;
  }
  if (key == nullptr) {
    out.why = failure::unknown_key;
    return out;
  }
  out.key_id = key->id;
  const std::string_view body(*raw);
  out.plaintext = decrypt(key->secret, body.substr(0, nonce_bytes), header, body.substr(nonce_bytes));
  if (!out.plaintext) out.why = failure::forged;
  return out;
}

const char* to_string(key_ring::failure why) {
  switch (why) {
    case key_ring::failure::malformed:
      return "malformed";
    case key_ring::failure::wrong_purpose:
      return "not a token of this kind";
    case key_ring::failure::unknown_key:
      return "sealed with a key not in the ring";
    case key_ring::failure::forged:
      return "does not verify (altered, or sealed by another key with the same id)";
  }
  return "?";
}

}  // namespace manifold::proxy
