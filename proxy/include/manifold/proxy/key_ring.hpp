#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace manifold::proxy {

// One AES-256 key of the session key ring (http.sessions.keys).
struct session_key {
  std::string id;      // [A-Za-z0-9_-], 1..32 characters; travels in every token it seals
  std::string secret;  // exactly 32 raw bytes
};

// Authenticated encryption (AES-256-GCM, OpenSSL EVP) under a ring of keys: the first key
// seals, every key opens, so a key can be added everywhere before it seals and kept until
// nothing it sealed is in use (rotation without dropping sessions). A token is
//   <purpose>.<key id>.<base64url(12-byte nonce | ciphertext | 16-byte tag)>
// and the purpose and key id are authenticated too: a token sealed for one purpose never
// opens as another. Nonces are random (96 bits): fine for far more than 2^32 tokens per key.
// Immutable once built; share it by pointer.
class key_ring {
 public:
  // Throws std::invalid_argument for an empty ring, a malformed or repeated id, or a secret
  // that is not 32 bytes.
  explicit key_ring(std::vector<session_key> keys);

  enum class failure { malformed, wrong_purpose, unknown_key, forged };
  struct opened {
    std::optional<std::string> plaintext;  // set when it opened
    failure why = failure::malformed;
    std::string key_id;  // the key that sealed it (set when the token names a known key)
  };

  // `purpose`: [a-z0-9], 1..8 characters.
  [[nodiscard]] std::string seal(std::string_view purpose, std::string_view plaintext) const;
  [[nodiscard]] opened open(std::string_view purpose, std::string_view token) const;

  [[nodiscard]] const std::string& sealing_key() const { return keys_.front().id; }
  [[nodiscard]] std::vector<std::string> key_ids() const;
  [[nodiscard]] std::size_t size() const { return keys_.size(); }

  static bool valid_key_id(std::string_view id);

 private:
  std::vector<session_key> keys_;
};

const char* to_string(key_ring::failure why);

}  // namespace manifold::proxy
