#pragma once

#include <chrono>
#include <string>

// The fixed key material the access fuzz targets verify with: an EC P-256 public key (its
// private half was thrown away after signing the seed in corpus/jwt/es256_valid) and an HMAC
// secret (corpus/jwt/hs256_valid). Both seeds stay valid at fuzz_now.
namespace manifold::access::fuzzing {

inline const std::string fuzz_jwks =
    R"({"keys":[{"kty":"EC","crv":"P-256","kid":"fuzz-ec","x":"gj2Ezc2YSO4jH5b71PCIlmCJGrdCLj6yb_uIVwGCZQI",)"
    R"("y":"B1uvoGtSLDeIxXYRVn3mpuXF0XI3X2LYyQc7otLOfRI"}]})";
inline const std::string fuzz_hmac_secret = "fuzz-hmac-secret-0123456789abcdef!";
inline const auto fuzz_now = std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000));

}  // namespace manifold::access::fuzzing
