#include "manifold/access/api_key_store.hpp"

#include "manifold/access/digest.hpp"
#include "manifold/access/digest.hpp"
#include "manifold/access/principal.hpp"

namespace manifold::access {

namespace {

constexpr std::size_t salt_bytes = 16;
constexpr std::string_view scheme = "sha256$";

std::string salted_digest(std::string_view salt, std::string_view key) {
  std::string input;
  input.reserve(salt.size() + key.size());
  input.append(salt);
  input.append(key);
  return sha256(input);
}

}  // namespace

std::string hash_api_key(std::string_view key, std::string_view salt) {
  return std::string(scheme) + to_hex(salt) + "$" + to_hex(salted_digest(salt, key));
}

std::string hash_api_key(std::string_view key) { return hash_api_key(key, random_bytes(salt_bytes)); }

std::string generate_api_key() { return "mfd_" + base64url_encode(random_bytes(32)); }

api_key_store::api_key_store(const std::vector<config::api_key_config>& keys) {
  for (const auto& key : keys) {
    const std::string_view hash(key.hash);
    if (hash.rfind(scheme, 0) != 0) continue;
    const auto rest = hash.substr(scheme.size());
    const auto dollar = rest.find('$');
    if (dollar == std::string_view::npos) continue;
    auto salt = from_hex(rest.substr(0, dollar));
    auto digest = from_hex(rest.substr(dollar + 1));
    if (!salt || !digest || salt->empty() || digest->size() != 32) continue;
    entries_.push_back({key.principal, normalized_roles(key.roles), std::move(*salt), std::move(*digest)});
  }
}

const api_key_entry* api_key_store::find(std::string_view presented) const {
  const api_key_entry* found = nullptr;
  for (const auto& entry : entries_) {
    // No early exit: every entry costs the same whether an earlier one matched or not.
    const bool match = equal_constant_time(salted_digest(entry.salt, presented), entry.digest);
    if (match && found == nullptr) found = &entry;
  }
  return found;
}

}  // namespace manifold::access
