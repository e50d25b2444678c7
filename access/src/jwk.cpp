#include "manifold/access/jwk.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "key_material.hpp"
#include "manifold/access/digest.hpp"
#include "manifold/protocol/json_access.hpp"

namespace manifold::access {

namespace {

namespace proto = manifold::protocol;

const unsigned char* bytes_of(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
}

std::optional<std::string> b64_member(const nlohmann::json& object, std::string_view key) {
  const auto text = proto::string_member(object, key);
  if (!text) return std::nullopt;
  return base64url_decode(*text);
}

// EVP_PKEY from OSSL_PARAMs; null on failure.
EVP_PKEY* from_params(const char* type, OSSL_PARAM_BLD* bld) {
  EVP_PKEY* pkey = nullptr;
  OSSL_PARAM* params = OSSL_PARAM_BLD_to_param(bld);
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr);
  if (params != nullptr && ctx != nullptr && EVP_PKEY_fromdata_init(ctx) == 1) {
    if (EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) pkey = nullptr;
  }
  EVP_PKEY_CTX_free(ctx);
  OSSL_PARAM_free(params);
  return pkey;
}

bool public_key_checks(EVP_PKEY* pkey) {
  EVP_PKEY_CTX* ctx = EVP_PKEY_CTX_new_from_pkey(nullptr, pkey, nullptr);
  const bool ok = ctx != nullptr && EVP_PKEY_public_check(ctx) == 1;
  EVP_PKEY_CTX_free(ctx);
  return ok;
}

EVP_PKEY* rsa_key(const nlohmann::json& object, std::string& why) {
  const auto n = b64_member(object, "n");
  const auto e = b64_member(object, "e");
  if (!n || !e || n->empty() || e->empty() || e->size() > 8) {
    why = "RSA key without valid `n` and `e`";
    return nullptr;
  }
  BIGNUM* bn_n = BN_bin2bn(bytes_of(*n), static_cast<int>(n->size()), nullptr);
  BIGNUM* bn_e = BN_bin2bn(bytes_of(*e), static_cast<int>(e->size()), nullptr);
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* pkey = nullptr;
  if (bn_n != nullptr && bn_e != nullptr && bld != nullptr && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) == 1 &&
      OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e) == 1) {
    pkey = from_params("RSA", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  BN_free(bn_n);
  BN_free(bn_e);
  if (pkey == nullptr) {
    why = "RSA key OpenSSL cannot use";
  } else if (EVP_PKEY_get_bits(pkey) < 2048) {
    why = "RSA key shorter than 2048 bits";
    EVP_PKEY_free(pkey);
    pkey = nullptr;
  }
  return pkey;
}

struct curve {
  std::string_view crv;
  key_kind kind;
  std::size_t size;  // bytes of one coordinate
};

constexpr curve curves[] = {{"P-256", key_kind::ec_p256, 32}, {"P-384", key_kind::ec_p384, 48},
                            {"P-521", key_kind::ec_p521, 66}};

EVP_PKEY* ec_key(const nlohmann::json& object, key_kind& kind, std::string& why) {
  const auto crv = proto::string_or(object, "crv");
  const curve* found = nullptr;
  for (const auto& c : curves) {
    if (c.crv == crv) found = &c;
  }
  if (found == nullptr) {
    why = "EC curve `" + crv + "` is not supported (P-256, P-384, P-521)";
    return nullptr;
  }
  kind = found->kind;
  const auto size = found->size;
  const std::string group(found->crv);
  const auto x = b64_member(object, "x");
  const auto y = b64_member(object, "y");
  if (!x || !y || x->size() != size || y->size() != size) {
    why = "EC key without valid `x` and `y` for " + crv;
    return nullptr;
  }
  const std::string point = "\x04" + *x + *y;
  OSSL_PARAM_BLD* bld = OSSL_PARAM_BLD_new();
  EVP_PKEY* pkey = nullptr;
  if (bld != nullptr && OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group.c_str(), 0) == 1 &&
      OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) == 1) {
    pkey = from_params("EC", bld);
  }
  OSSL_PARAM_BLD_free(bld);
  if (pkey != nullptr && !public_key_checks(pkey)) {
    EVP_PKEY_free(pkey);
    pkey = nullptr;
  }
  if (pkey == nullptr) why = "EC key whose point is not on " + crv;
  return pkey;
}

EVP_PKEY* okp_key(const nlohmann::json& object, std::string& why) {
  const auto crv = proto::string_or(object, "crv");
  if (crv != "Ed25519") {
    why = "OKP curve `" + crv + "` is not supported (Ed25519)";
    return nullptr;
  }
  const auto x = b64_member(object, "x");
  if (!x || x->size() != 32) {
    why = "Ed25519 key without a valid 32-byte `x`";
    return nullptr;
  }
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_of(*x), x->size());
  if (pkey == nullptr) why = "Ed25519 key OpenSSL cannot use";
  return pkey;
}

bool alg_fits_kind(std::string_view alg, key_kind kind) {
  switch (kind) {
    case key_kind::rsa:
      return alg.rfind("RS", 0) == 0 || alg.rfind("PS", 0) == 0;
    case key_kind::ec_p256:
      return alg == "ES256";
    case key_kind::ec_p384:
      return alg == "ES384";
    case key_kind::ec_p521:
      return alg == "ES512";
    case key_kind::ed25519:
      return alg == "EdDSA";
    case key_kind::hmac:
      return alg.rfind("HS", 0) == 0;
  }
  return false;
}

// `use` and `key_ops`, when present, must allow signature verification.
bool for_verification(const nlohmann::json& object) {
  if (const auto use = proto::string_member(object, "use"); use && *use != "sig") return false;
  if (const auto* ops = proto::array_member(object, "key_ops")) {
    for (const auto& op : *ops) {
      if (op.is_string() && op.get_ref<const std::string&>() == "verify") return true;
    }
    return false;
  }
  return true;
}

}  // namespace

std::string_view to_string(key_kind kind) {
  switch (kind) {
    case key_kind::rsa:
      return "RSA";
    case key_kind::ec_p256:
      return "EC P-256";
    case key_kind::ec_p384:
      return "EC P-384";
    case key_kind::ec_p521:
      return "EC P-521";
    case key_kind::ed25519:
      return "Ed25519";
    case key_kind::hmac:
      break;
  }
  return "HMAC secret";
}

std::optional<jwk> parse_jwk(const nlohmann::json& object, std::string& why) {
  if (!object.is_object()) {
    why = "not a JSON object";
    return std::nullopt;
  }
  jwk out;
  out.kid = proto::string_or(object, "kid");
  out.alg = proto::string_or(object, "alg");
  if (!for_verification(object)) {
    why = "not a signature verification key (`use`/`key_ops`)";
    return std::nullopt;
  }
  const auto kty = proto::string_or(object, "kty");
  EVP_PKEY* pkey = nullptr;
  if (kty == "RSA") {
    pkey = rsa_key(object, why);
  } else if (kty == "EC") {
    pkey = ec_key(object, out.kind, why);
  } else if (kty == "OKP") {
    out.kind = key_kind::ed25519;
    pkey = okp_key(object, why);
  } else if (kty == "oct") {
    why = "symmetric key in a published key set (configure hs256_secret instead)";
  } else {
    why = "key type `" + kty + "` is not supported";
  }
  if (pkey == nullptr) return std::nullopt;
  auto material = std::make_shared<key_material>();
  material->pkey = pkey;
  out.material = std::move(material);
  if (!out.alg.empty() && !alg_fits_kind(out.alg, out.kind)) {
    why = "`alg` " + out.alg + " does not fit a " + std::string(to_string(out.kind)) + " key";
    return std::nullopt;
  }
  return out;
}

jwks_document parse_jwks(std::string_view text) {
  jwks_document out;
  if (text.size() > max_jwks_bytes) {
    out.error = "JWKS document larger than 1 MiB";
    return out;
  }
  const auto parsed = proto::parse_json(text, 16);
  if (!parsed.ok()) {
    out.error = "JWKS document is not JSON: " + parsed.why();
    return out;
  }
  const auto* keys = proto::array_member(parsed.value, "keys");
  if (keys == nullptr) {
    out.error = "JWKS document without a `keys` array";
    return out;
  }
  for (std::size_t i = 0; i < keys->size(); ++i) {
    if (out.keys.keys.size() == max_jwks_keys) {
      out.skipped.push_back("keys beyond the first " + std::to_string(max_jwks_keys) + " ignored");
      break;
    }
    std::string why;
    if (auto key = parse_jwk((*keys)[i], why)) {
      out.keys.keys.push_back(std::move(*key));
    } else {
      const auto kid = proto::string_or((*keys)[i], "kid", "(no kid)");
      out.skipped.push_back("key " + std::to_string(i) + " " + kid + ": " + why);
    }
  }
  return out;
}

jwk hmac_key(std::string secret, std::string kid) {
  auto material = std::make_shared<key_material>();
  material->secret = std::move(secret);
  jwk out;
  out.kid = std::move(kid);
  out.kind = key_kind::hmac;
  out.material = std::move(material);
  return out;
}

}  // namespace manifold::access
