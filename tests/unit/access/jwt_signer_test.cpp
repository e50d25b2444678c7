#include "manifold/access/jwt_signer.hpp"

#include <openssl/bio.h>
#include <openssl/pem.h>

#include <gtest/gtest.h>

#include "manifold/access/jwt_verifier.hpp"
#include "test_keys.hpp"

// The client assertions manifold signs (private_key_jwt) must verify with the public key under
// the algorithm they name, for every key type, and a wrong pairing must be refused up front.
namespace manifold::access {
namespace {

using namespace testing;  // NOLINT(google-build-using-namespace)
using json = nlohmann::json;

std::string private_pem(const test_key& key) {
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new(BIO_s_mem()), &BIO_free);
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio.get(), key.pkey.get(), nullptr, nullptr, 0, nullptr, nullptr), 1);
  char* data = nullptr;
  const auto n = BIO_get_mem_data(bio.get(), &data);
  return {data, static_cast<std::size_t>(n)};
}

jwt_result verify(const test_key& key, const std::string& token, const std::string& alg) {
  jwt_settings s;
  s.issuer = "manifold";
  s.audiences = {"https://as.test"};
  s.algorithms = {alg};
  key_set keys;
  std::string why;
  auto jwk = parse_jwk(public_jwk(key), why);
  EXPECT_TRUE(jwk) << why;
  keys.keys.push_back(std::move(*jwk));
  return jwt_verifier(s).verify(token, keys, std::chrono::system_clock::now());
}

json assertion() {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  return {{"iss", "manifold"}, {"sub", "manifold"}, {"aud", "https://as.test"},
          {"jti", "j1"},       {"iat", now},        {"exp", now + 300}};
}

TEST(jwt_signer, default_algorithm_follows_the_key) {
  EXPECT_EQ(default_signing_algorithm(private_pem(shared_key(test_kind::rsa))), "RS256");
  EXPECT_EQ(default_signing_algorithm(private_pem(shared_key(test_kind::ec_p256))), "ES256");
  EXPECT_EQ(default_signing_algorithm(private_pem(shared_key(test_kind::ec_p384))), "ES384");
  EXPECT_EQ(default_signing_algorithm(private_pem(shared_key(test_kind::ed25519))), "EdDSA");
  EXPECT_THROW(default_signing_algorithm("-----BEGIN PRIVATE KEY-----\nnot a key\n-----END PRIVATE KEY-----\n"),
               std::runtime_error);
}

TEST(jwt_signer, signatures_verify_for_every_key_type) {
  const std::vector<std::pair<test_kind, std::string>> cases{
      {test_kind::rsa, "RS256"},     {test_kind::rsa, "RS512"},     {test_kind::rsa, "PS256"},
      {test_kind::ec_p256, "ES256"}, {test_kind::ec_p384, "ES384"}, {test_kind::ed25519, "EdDSA"}};
  for (const auto& [kind, alg] : cases) {
    const auto& key = shared_key(kind);
    const auto token = sign_jwt(private_pem(key), alg, assertion(), key.kid);
    const auto r = verify(key, token, alg);
    EXPECT_TRUE(r.ok()) << alg << ": " << r.error.reason;
    if (r.ok()) {
      EXPECT_EQ(r.token->claims.at("sub"), "manifold") << alg;
    }
  }
}

TEST(jwt_signer, a_tampered_assertion_does_not_verify) {
  const auto& key = shared_key(test_kind::ec_p256);
  auto token = sign_jwt(private_pem(key), "ES256", assertion(), key.kid);
  const auto dot = token.find('.');
  auto forged = assertion();
  forged["sub"] = "mallory";
  const auto other = sign_jwt(private_pem(key), "ES256", forged, key.kid);
  token = other.substr(0, other.rfind('.')) + token.substr(token.rfind('.'));
  ASSERT_NE(dot, std::string::npos);
  EXPECT_FALSE(verify(key, token, "ES256").ok());
}

TEST(jwt_signer, a_key_that_does_not_fit_the_algorithm_is_refused) {
  EXPECT_THROW(sign_jwt(private_pem(shared_key(test_kind::ec_p256)), "RS256", assertion()), std::runtime_error);
  EXPECT_THROW(sign_jwt(private_pem(shared_key(test_kind::rsa)), "ES256", assertion()), std::runtime_error);
  EXPECT_THROW(sign_jwt(private_pem(shared_key(test_kind::ec_p256)), "ES384", assertion()), std::runtime_error);
  EXPECT_THROW(sign_jwt(private_pem(shared_key(test_kind::rsa)), "HS256", assertion()), std::runtime_error);
}

}  // namespace
}  // namespace manifold::access
