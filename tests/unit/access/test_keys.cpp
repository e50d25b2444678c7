#include "test_keys.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <map>
#include <stdexcept>

#include "manifold/access/digest.hpp"
#include "manifold/access/digest.hpp"

namespace manifold::access::testing {

namespace {

const unsigned char* bytes_of(const std::string& s) {
  return reinterpret_cast<const unsigned char*>(s.data());  // NOLINT
}

std::string bn_param(const EVP_PKEY* pkey, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &bn) != 1) throw std::runtime_error("no key parameter");
  const int size = pad > 0 ? pad : BN_num_bytes(bn);
  std::string out(static_cast<std::size_t>(size), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), size);  // NOLINT
  BN_free(bn);
  return out;
}

const EVP_MD* md_for(const std::string& alg) {
  if (alg.size() >= 5 && alg.substr(2) == "384") return EVP_sha384();
  if (alg.size() >= 5 && alg.substr(2) == "512") return EVP_sha512();
  if (alg == "EdDSA") return nullptr;
  return EVP_sha256();
}

std::string raw_ecdsa(const std::string& der, int size) {
  const unsigned char* p = bytes_of(der);
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  std::string out(static_cast<std::size_t>(2 * size), '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());  // NOLINT
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), o, size);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), o + size, size);
  ECDSA_SIG_free(sig);
  return out;
}

std::string complete_header(nlohmann::json header, const std::string& alg, const std::string& kid) {
  if (!header.contains("alg")) header["alg"] = alg;
  if (!header.contains("kid") && !kid.empty()) header["kid"] = kid;
  return header.dump();
}

}  // namespace

test_key make_key(test_kind kind, std::string kid) {
  EVP_PKEY* pkey = nullptr;
  switch (kind) {
    case test_kind::rsa:
      pkey = EVP_RSA_gen(2048);
      break;
    case test_kind::ec_p256:
      pkey = EVP_EC_gen("P-256");
      break;
    case test_kind::ec_p384:
      pkey = EVP_EC_gen("P-384");
      break;
    case test_kind::ed25519:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (pkey == nullptr) throw std::runtime_error("key generation failed");
  return {kind, std::move(kid), pkey_ptr(pkey)};
}

const test_key& shared_key(test_kind kind, int index) {
  static std::map<std::pair<int, int>, test_key> keys;
  const auto id = std::make_pair(static_cast<int>(kind), index);
  auto it = keys.find(id);
  if (it == keys.end()) {
    const auto kid = "k" + std::to_string(static_cast<int>(kind)) + "-" + std::to_string(index);
    it = keys.emplace(id, make_key(kind, kid)).first;
  }
  return it->second;
}

nlohmann::json public_jwk(const test_key& key) {
  nlohmann::json out{{"kid", key.kid}};
  const auto* pkey = key.pkey.get();
  switch (key.kind) {
    case test_kind::rsa:
      out["kty"] = "RSA";
      out["n"] = base64url_encode(bn_param(pkey, OSSL_PKEY_PARAM_RSA_N));
      out["e"] = base64url_encode(bn_param(pkey, OSSL_PKEY_PARAM_RSA_E));
      break;
    case test_kind::ec_p256:
    case test_kind::ec_p384: {
      const int size = key.kind == test_kind::ec_p256 ? 32 : 48;
      out["kty"] = "EC";
      out["crv"] = key.kind == test_kind::ec_p256 ? "P-256" : "P-384";
      out["x"] = base64url_encode(bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_X, size));
      out["y"] = base64url_encode(bn_param(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, size));
      break;
    }
    case test_kind::ed25519: {
      std::string raw(32, '\0');
      std::size_t length = raw.size();
      EVP_PKEY_get_raw_public_key(pkey, reinterpret_cast<unsigned char*>(raw.data()), &length);  // NOLINT
      out["kty"] = "OKP";
      out["crv"] = "Ed25519";
      out["x"] = base64url_encode(raw);
      break;
    }
  }
  return out;
}

std::string jwks_text(const nlohmann::json& keys) { return nlohmann::json{{"keys", keys}}.dump(); }

std::string public_pem(const test_key& key) {
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(bio, key.pkey.get());
  char* data = nullptr;
  const long length = BIO_get_mem_data(bio, &data);
  std::string out(data, static_cast<std::size_t>(length));
  BIO_free(bio);
  return out;
}

std::string public_der(const test_key& key) {
  unsigned char* data = nullptr;
  const int length = i2d_PUBKEY(key.pkey.get(), &data);
  std::string out(reinterpret_cast<char*>(data), static_cast<std::size_t>(length));  // NOLINT
  OPENSSL_free(data);
  return out;
}

std::string sign_jwt(const test_key& key, const std::string& alg, nlohmann::json claims, nlohmann::json header) {
  const auto input = base64url_encode(complete_header(std::move(header), alg, key.kid)) + "." +
                     base64url_encode(claims.dump());
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX* pctx = nullptr;
  EVP_DigestSignInit(ctx, &pctx, md_for(alg), nullptr, key.pkey.get());
  if (alg.rfind("PS", 0) == 0) {
    EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
    EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
  }
  std::size_t length = 0;
  EVP_DigestSign(ctx, nullptr, &length, bytes_of(input), input.size());
  std::string signature(length, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(signature.data()), &length, bytes_of(input),  // NOLINT
                 input.size());
  signature.resize(length);
  EVP_MD_CTX_free(ctx);
  if (alg.rfind("ES", 0) == 0) signature = raw_ecdsa(signature, alg == "ES256" ? 32 : alg == "ES384" ? 48 : 66);
  return input + "." + base64url_encode(signature);
}

std::string sign_hs(const std::string& secret, const std::string& alg, nlohmann::json claims, nlohmann::json header) {
  const auto input = base64url_encode(complete_header(std::move(header), alg, "")) + "." +
                     base64url_encode(claims.dump());
  const auto digest = alg == "HS384" ? digest_kind::sha384 : alg == "HS512" ? digest_kind::sha512 : digest_kind::sha256;
  return input + "." + base64url_encode(hmac(digest, secret, input));
}

std::string unsigned_parts(const std::string& header, const std::string& payload, const std::string& signature) {
  return base64url_encode(header) + "." + base64url_encode(payload) + "." + base64url_encode(signature);
}

}  // namespace manifold::access::testing
