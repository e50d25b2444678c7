// libFuzzer target: JWS/JWT parsing and verification, and JWKS parsing, with a fixed key set.
// Every input must end in a value (verified or refused), never a crash, a hang or a throw.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_keys.hpp"
#include "manifold/access/jwk.hpp"
#include "manifold/access/jwt_verifier.hpp"

namespace {

using namespace manifold::access;  // NOLINT(google-build-using-namespace)

const key_set& keys() {
  static const key_set set = [] {
    auto doc = parse_jwks(fuzzing::fuzz_jwks);
    doc.keys.keys.push_back(hmac_key(fuzzing::fuzz_hmac_secret));
    return doc.keys;
  }();
  return set;
}

const jwt_verifier& verifier() {
  static const jwt_verifier v([] {
    jwt_settings s;
    s.issuer = "https://idp.test";
    s.audiences = {"mcp"};
    s.algorithms = {"RS256", "PS256", "ES256", "ES384", "EdDSA", "HS256", "HS512"};
    s.roles_claim = "realm_access.roles";
    return s;
  }());
  return v;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);  // NOLINT
  const auto result = verifier().verify(input, keys(), fuzzing::fuzz_now);
  if (result.ok() && result.token->subject.empty()) __builtin_trap();  // a verified token names someone
  if (size < 64 * 1024) (void)parse_jwks(input);
  return 0;
}
