#include "jws.hpp"

#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include <array>

#include "key_material.hpp"
#include "manifold/access/digest.hpp"

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

}  // namespace manifold::access
