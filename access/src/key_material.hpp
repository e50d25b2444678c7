#pragma once

#include <openssl/evp.h>

#include <string>

#include "manifold/access/jwk.hpp"

namespace manifold::access {

// A public key (RSA, EC, Ed25519) owned as an EVP_PKEY, or an HMAC secret. Immutable once
// built, shared by every key set that lists it.
struct key_material {
  key_material() = default;
  key_material(const key_material&) = delete;
  key_material& operator=(const key_material&) = delete;
  ~key_material() { EVP_PKEY_free(pkey); }

  EVP_PKEY* pkey = nullptr;
  std::string secret;
};

}  // namespace manifold::access
