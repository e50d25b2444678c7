#include "jws.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <memory>
#include <stdexcept>

#include "key_material.hpp"
#include "manifold/access/digest.hpp"
#include "manifold/access/jwt_signer.hpp"
#include "manifold/protocol/text.hpp"

namespace manifold::access {

namespace {

struct alg_info {
  std::string_view name;
  jws_alg alg;
};

constexpr std::array<alg_info, 13> algs{{{"RS256", jws_alg::rs256},
                                         {"RS384", jws_alg::rs384},
                                         {"RS512", jws_alg::rs512},
                                         {"PS256", jws_alg::ps256},
                                         {"PS384", jws_alg::ps384},
                                         {"PS512", jws_alg::ps512},
                                         {"ES256", jws_alg::es256},
                                         {"ES384", jws_alg::es384},
                                         {"ES512", jws_alg::es512},
                                         {"EdDSA", jws_alg::eddsa},
                                         {"HS256", jws_alg::hs256},
                                         {"HS384", jws_alg::hs384},
                                         {"HS512", jws_alg::hs512}}};

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
}

const EVP_MD* md_for(jws_alg alg) {
  switch (alg) {
    case jws_alg::rs384:
    case jws_alg::ps384:
    case jws_alg::es384:
    case jws_alg::hs384:
      return EVP_sha384();
    case jws_alg::rs512:
    case jws_alg::ps512:
    case jws_alg::es512:
    case jws_alg::hs512:
      return EVP_sha512();
    case jws_alg::eddsa:
      return nullptr;  // Ed25519 hashes internally
    default:
      return EVP_sha256();
  }
}

digest_kind digest_for(jws_alg alg) {
  if (alg == jws_alg::hs384) return digest_kind::sha384;
  if (alg == jws_alg::hs512) return digest_kind::sha512;
  return digest_kind::sha256;
}

std::size_t coordinate_size(jws_alg alg) {
  return alg == jws_alg::es256 ? 32 : alg == jws_alg::es384 ? 48 : 66;
}

// JWS carries ECDSA signatures as fixed-size r||s; OpenSSL verifies DER. Empty on failure.
std::string ecdsa_der(std::string_view raw, std::size_t size) {
  if (raw.size() != 2 * size) return {};
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(bytes_of(raw.substr(0, size)), static_cast<int>(size), nullptr);
  BIGNUM* s = BN_bin2bn(bytes_of(raw.substr(size)), static_cast<int>(size), nullptr);
  std::string out;
  if (sig != nullptr && r != nullptr && s != nullptr && ECDSA_SIG_set0(sig, r, s) == 1) {
    r = nullptr;  // owned by sig now
    s = nullptr;
    const int length = i2d_ECDSA_SIG(sig, nullptr);
    if (length > 0) {
      out.resize(static_cast<std::size_t>(length));
      auto* p = reinterpret_cast<unsigned char*>(out.data());  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
      if (i2d_ECDSA_SIG(sig, &p) != length) out.clear();
    }
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(sig);
  return out;
}

// The DER ECDSA signature OpenSSL makes, as JWS's fixed-size r||s. Empty on failure.
std::string ecdsa_raw(std::string_view der, std::size_t size) {
  const auto* p = bytes_of(der);
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  std::string out;
  if (sig != nullptr) {
    out.assign(2 * size, '\0');
    auto* raw = reinterpret_cast<unsigned char*>(out.data());  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
    if (BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, static_cast<int>(size)) != static_cast<int>(size) ||
        BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + size, static_cast<int>(size)) != static_cast<int>(size)) {
      out.clear();
    }
  }
  ECDSA_SIG_free(sig);
  return out;
}

bool is_pss(jws_alg alg) { return alg == jws_alg::ps256 || alg == jws_alg::ps384 || alg == jws_alg::ps512; }

bool evp_verify(jws_alg alg, EVP_PKEY* pkey, std::string_view input, std::string_view signature) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = ctx != nullptr && EVP_DigestVerifyInit(ctx, &pctx, md_for(alg), nullptr, pkey) == 1;
  if (ok && is_pss(alg)) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  ok = ok && EVP_DigestVerify(ctx, bytes_of(signature), signature.size(), bytes_of(input), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  return ok;
}

}  // namespace

std::optional<jws_alg> jws_alg_named(std::string_view name) {
  for (const auto& info : algs) {
    if (info.name == name) return info.alg;
  }
  return std::nullopt;
}

std::string_view name_of(jws_alg alg) {
  for (const auto& info : algs) {
    if (info.alg == alg) return info.name;
  }
  return "?";
}

bool kind_fits(jws_alg alg, key_kind kind) {
  switch (alg) {
    case jws_alg::rs256:
    case jws_alg::rs384:
    case jws_alg::rs512:
    case jws_alg::ps256:
    case jws_alg::ps384:
    case jws_alg::ps512:
      return kind == key_kind::rsa;
    case jws_alg::es256:
      return kind == key_kind::ec_p256;
    case jws_alg::es384:
      return kind == key_kind::ec_p384;
    case jws_alg::es512:
      return kind == key_kind::ec_p521;
    case jws_alg::eddsa:
      return kind == key_kind::ed25519;
    case jws_alg::hs256:
    case jws_alg::hs384:
    case jws_alg::hs512:
      return kind == key_kind::hmac;
  }
  return false;
}

bool key_fits(jws_alg alg, const jwk& key) {
  return key.material != nullptr && kind_fits(alg, key.kind) && (key.alg.empty() || key.alg == name_of(alg));
}

bool verify_jws_signature(jws_alg alg, const jwk& key, std::string_view signing_input, std::string_view signature) {
  if (!key_fits(alg, key)) return false;
  const auto& material = *key.material;
  if (key.kind == key_kind::hmac) {
    if (material.secret.empty()) return false;
    return equal_constant_time(hmac(digest_for(alg), material.secret, signing_input), signature);
  }
  if (material.pkey == nullptr) return false;
  if (key.kind == key_kind::ec_p256 || key.kind == key_kind::ec_p384 || key.kind == key_kind::ec_p521) {
    const auto der = ecdsa_der(signature, coordinate_size(alg));
    return !der.empty() && evp_verify(alg, material.pkey, signing_input, der);
  }
  return evp_verify(alg, material.pkey, signing_input, signature);
}

std::string sign_hmac(jws_alg alg, std::string_view secret, std::string_view signing_input) {
  if (!kind_fits(alg, key_kind::hmac)) return {};
  return hmac(digest_for(alg), secret, signing_input);
}

namespace {

using pkey_ptr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

pkey_ptr read_private_key(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* pkey = bio != nullptr ? PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr) : nullptr;
  BIO_free(bio);
  if (pkey == nullptr) throw std::runtime_error("the private key is not a readable PEM private key");
  return {pkey, &EVP_PKEY_free};
}

key_kind kind_of(EVP_PKEY* pkey) {
  switch (EVP_PKEY_get_base_id(pkey)) {
    case EVP_PKEY_RSA:
      return key_kind::rsa;
    case EVP_PKEY_ED25519:
      return key_kind::ed25519;
    case EVP_PKEY_EC: {
      char curve[64] = {};
      std::size_t length = 0;
      if (EVP_PKEY_get_utf8_string_param(pkey, "group", curve, sizeof curve, &length) != 1) break;
      const std::string_view name(curve, length);
      if (name == "prime256v1" || name == "P-256") return key_kind::ec_p256;
      if (name == "secp384r1" || name == "P-384") return key_kind::ec_p384;
      if (name == "secp521r1" || name == "P-521") return key_kind::ec_p521;
      break;
    }
    default:
      break;
  }
  throw std::runtime_error("the private key's type has no JWS algorithm (use RSA, EC P-256/384/521 or Ed25519)");
}

}  // namespace

std::string default_signing_algorithm(std::string_view private_key_pem) {
  const auto pkey = read_private_key(private_key_pem);
  switch (kind_of(pkey.get())) {
    case key_kind::rsa:
      return "RS256";
    case key_kind::ec_p256:
      return "ES256";
    case key_kind::ec_p384:
      return "ES384";
    case key_kind::ec_p521:
      return "ES512";
    default:
      return "EdDSA";
  }
}

std::string sign_jwt(std::string_view private_key_pem, std::string_view algorithm, const nlohmann::json& claims,
                     std::string_view kid) {
  const auto alg = jws_alg_named(algorithm);
  if (!alg || *alg == jws_alg::hs256 || *alg == jws_alg::hs384 || *alg == jws_alg::hs512) {
    throw std::runtime_error("cannot sign with algorithm " + std::string(algorithm) + " and a private key");
  }
  const auto pkey = read_private_key(private_key_pem);
  if (!kind_fits(*alg, kind_of(pkey.get()))) {
    throw std::runtime_error("the private key does not fit algorithm " + std::string(algorithm));
  }
  nlohmann::json header{{"alg", std::string(algorithm)}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = std::string(kid);
  const auto input = protocol::base64url_encode(header.dump()) + "." + protocol::base64url_encode(claims.dump());

  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  bool ok = ctx != nullptr && EVP_DigestSignInit(ctx, &pctx, md_for(*alg), nullptr, pkey.get()) == 1;
  if (ok && is_pss(*alg)) {
    ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
         EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1;
  }
  std::size_t length = 0;
  ok = ok && EVP_DigestSign(ctx, nullptr, &length, bytes_of(input), input.size()) == 1;
  std::string signature(length, '\0');
  ok = ok && EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()),  // NOLINT(cppcoreguidelines-pro-type-reinterpret-cast)
                            &length, bytes_of(input), input.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok) throw std::runtime_error("signing the JWT failed");
  signature.resize(length);
  if (*alg == jws_alg::es256 || *alg == jws_alg::es384 || *alg == jws_alg::es512) {
    signature = ecdsa_raw(signature, coordinate_size(*alg));
    if (signature.empty()) throw std::runtime_error("signing the JWT failed");
  }
  return input + "." + protocol::base64url_encode(signature);
}

}  // namespace manifold::access
