#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "manifold/config/config.hpp"

// API keys: generated as high-entropy random tokens, stored in config only as salted SHA-256
// hashes, verified by hashing the presented key with each stored salt. A fast hash is right
// for random keys (nothing to brute-force); it keeps verification near a microsecond a key.
namespace manifold::access {

// "sha256$<salt hex>$<SHA-256(salt || key) hex>" with a fresh random 16-byte salt.
std::string hash_api_key(std::string_view key);
// The same with a given salt (raw bytes); for tests and for checking a key against a hash.
std::string hash_api_key(std::string_view key, std::string_view salt);

// "mfd_" + 32 random bytes in base64url (43 characters).
std::string generate_api_key();

// One configured key: who it stands for. Holds the salt and digest, never the key.
struct api_key_entry {
  std::string principal;
  std::vector<std::string> roles;  // sorted
  std::string salt;                // raw bytes
  std::string digest;              // raw SHA-256(salt || key)
};

// The configured keys, compiled once. Thread: immutable after construction.
class api_key_store {
 public:
  api_key_store() = default;
  // Entries whose hash is not a well-formed `manifold key hash` line are skipped (the config
  // loader refuses them first).
  explicit api_key_store(const std::vector<config::api_key_config>& keys);

  // The entry `presented` is the key of, or null. Every entry is hashed and compared in
  // constant time, match or not, so the time taken does not say which entry matched.
  [[nodiscard]] const api_key_entry* find(std::string_view presented) const;

  [[nodiscard]] bool empty() const { return entries_.empty(); }
  [[nodiscard]] std::size_t size() const { return entries_.size(); }

 private:
  std::vector<api_key_entry> entries_;
};

}  // namespace manifold::access
