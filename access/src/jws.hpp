#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "manifold/access/jwk.hpp"

// JWS signature algorithms (RFC 7518) over OpenSSL EVP. Internal to the access library.
namespace manifold::access {

enum class jws_alg { rs256, rs384, rs512, ps256, ps384, ps512, es256, es384, es512, eddsa, hs256, hs384, hs512 };

// The algorithm a JOSE header names; nullopt for `none` and anything unknown.
std::optional<jws_alg> jws_alg_named(std::string_view name);
std::string_view name_of(jws_alg alg);

// The key can verify `alg`: the key type fits the algorithm (an RSA or EC public key never
// serves as an HMAC secret), and a JWK that names its own `alg` names this one.
bool key_fits(jws_alg alg, const jwk& key);
bool kind_fits(jws_alg alg, key_kind kind);

// `signature` (raw JWS bytes: r||s for ES*) over `signing_input`, under `key`.
bool verify_jws_signature(jws_alg alg, const jwk& key, std::string_view signing_input, std::string_view signature);

// HS256/384/512 signature (raw bytes); empty for another algorithm.
std::string sign_hmac(jws_alg alg, std::string_view secret, std::string_view signing_input);

}  // namespace manifold::access
