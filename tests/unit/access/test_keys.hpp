#pragma once

#include <openssl/evp.h>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <stdexcept>
#include <string>

// Keys generated in the test process with OpenSSL, and tokens signed with them.
namespace manifold::access::testing {

struct pkey_free {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;

enum class test_kind { rsa, ec_p256, ec_p384, ed25519 };

struct test_key {
  test_kind kind;
  std::string kid;
  pkey_ptr pkey;
};

// Generated once per process and kind (RSA generation is slow); `kid` names the JWK.
const test_key& shared_key(test_kind kind, int index = 0);
test_key make_key(test_kind kind, std::string kid);

// The public JWK of `key` (kty, kid, n/e, crv/x/y).
nlohmann::json public_jwk(const test_key& key);
// {"keys": [...]} of the given JWKs, as text.
std::string jwks_text(const nlohmann::json& keys);
// The public key as PEM (SubjectPublicKeyInfo) and DER.
std::string public_pem(const test_key& key);
std::string public_der(const test_key& key);

// A compact JWS of `header` (alg + kid added when absent) and `claims` signed by `key` with
// `alg` (RS*, PS*, ES*, EdDSA).
std::string sign_jwt(const test_key& key, const std::string& alg, nlohmann::json claims,
                     nlohmann::json header = nlohmann::json::object());
// The same with an HMAC secret (HS*).
std::string sign_hs(const std::string& secret, const std::string& alg, nlohmann::json claims,
                    nlohmann::json header = nlohmann::json::object());
// header.payload. with arbitrary text parts (base64url of each) and no signature check.
std::string unsigned_parts(const std::string& header, const std::string& payload, const std::string& signature = "");

// Runs `task` on `io` to completion and returns its value.
template <typename T>
T run(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  std::optional<T> out;
  std::exception_ptr failure;
  boost::asio::co_spawn(io, std::move(task), [&](std::exception_ptr e, T value) {
    failure = e;
    if (!e) out.emplace(std::move(value));
  });
  io.restart();
  io.run();
  if (failure) std::rethrow_exception(failure);
  if (!out) throw std::runtime_error("task did not finish");
  return std::move(*out);
}

}  // namespace manifold::access::testing
