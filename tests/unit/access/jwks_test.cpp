#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>

#include "manifold/access/jwks_cache.hpp"
#include "manifold/access/jwt_verifier.hpp"
#include "test_keys.hpp"

namespace manifold::access {
namespace {

namespace asio = boost::asio;
using namespace testing;  // NOLINT(google-build-using-namespace)
using json = nlohmann::json;

TEST(jwks, reads_supported_keys_and_skips_the_rest_with_reasons) {
  auto off_curve = public_jwk(shared_key(test_kind::ec_p256));
  off_curve["kid"] = "off-curve";
  auto y = off_curve["y"].get<std::string>();
  y[5] = y[5] == 'A' ? 'B' : 'A';
  off_curve["y"] = y;
  auto encryption = public_jwk(shared_key(test_kind::rsa));
  encryption["kid"] = "enc";
  encryption["use"] = "enc";
  auto bad_alg = public_jwk(shared_key(test_kind::ec_p256));
  bad_alg["kid"] = "bad-alg";
  bad_alg["alg"] = "RS256";
  const json keys = json::array({public_jwk(shared_key(test_kind::rsa)), public_jwk(shared_key(test_kind::ec_p256)),
                                 public_jwk(shared_key(test_kind::ec_p384)), public_jwk(shared_key(test_kind::ed25519)),
                                 json{{"kty", "oct"}, {"kid", "sym"}, {"k", "c2VjcmV0"}},
                                 json{{"kty", "RSA"}, {"kid", "short"}, {"n", "AQAB"}, {"e", "AQAB"}},
                                 json{{"kty", "OKP"}, {"crv", "X25519"}, {"kid", "x"}, {"x", "AAAA"}},
                                 json{{"kty", "XYZ"}}, off_curve, encryption, bad_alg, 42});
  const auto doc = parse_jwks(jwks_text(keys));
  ASSERT_TRUE(doc.ok()) << doc.error;
  ASSERT_EQ(doc.keys.keys.size(), 4U);
  EXPECT_EQ(doc.keys.keys[0].kind, key_kind::rsa);
  EXPECT_EQ(doc.keys.keys[1].kind, key_kind::ec_p256);
  EXPECT_EQ(doc.keys.keys[2].kind, key_kind::ec_p384);
  EXPECT_EQ(doc.keys.keys[3].kind, key_kind::ed25519);
  ASSERT_EQ(doc.skipped.size(), 8U);
  EXPECT_NE(doc.skipped[0].find("symmetric"), std::string::npos) << doc.skipped[0];
  EXPECT_NE(doc.skipped[1].find("2048"), std::string::npos) << doc.skipped[1];
  EXPECT_NE(doc.skipped[2].find("X25519"), std::string::npos) << doc.skipped[2];
  EXPECT_NE(doc.skipped[3].find("XYZ"), std::string::npos) << doc.skipped[3];
  EXPECT_NE(doc.skipped[4].find("not on P-256"), std::string::npos) << doc.skipped[4];
  EXPECT_NE(doc.skipped[5].find("use"), std::string::npos) << doc.skipped[5];
  EXPECT_NE(doc.skipped[6].find("does not fit"), std::string::npos) << doc.skipped[6];
  EXPECT_NE(doc.skipped[7].find("not a JSON object"), std::string::npos) << doc.skipped[7];
}

TEST(jwks, unusable_documents) {
  EXPECT_NE(parse_jwks("nope").error.find("not JSON"), std::string::npos);
  EXPECT_NE(parse_jwks("{}").error.find("keys"), std::string::npos);
  EXPECT_NE(parse_jwks(R"({"keys": {}})").error.find("keys"), std::string::npos);
  EXPECT_FALSE(parse_jwks(std::string(100, '[') + std::string(100, ']')).ok());
  EXPECT_FALSE(parse_jwks(std::string(max_jwks_bytes + 1, ' ')).ok());
  EXPECT_TRUE(parse_jwks(R"({"keys": []})").ok()) << "an empty set is valid: every key revoked";
}

constexpr std::int64_t now_s = 1'800'000'000;

json claims() {
  return {{"iss", "https://idp.test"}, {"aud", "mcp"}, {"sub", "alice"}, {"exp", now_s + 300}};
}

// A JWKS endpoint in memory: the document it serves, how often it was asked, and an optional
// stall (the fetch waits on a timer far beyond any deadline).
struct fake_issuer {
  std::string document;
  int fetches = 0;
  bool stall = false;

  jwks_cache::fetch_fn fetcher() {
    return [this](std::string url, std::chrono::milliseconds) -> asio::awaitable<std::optional<std::string>> {
      ++fetches;
      EXPECT_EQ(url, "https://idp.test/certs");
      asio::steady_timer timer(co_await asio::this_coro::executor, stall ? std::chrono::hours(1) : std::chrono::milliseconds(1));
      co_await timer.async_wait(asio::use_awaitable);
      co_return document;
    };
  }
};

struct jwks_cache_test : ::testing::Test {
  asio::io_context io;
  fake_issuer issuer;
  std::chrono::steady_clock::time_point logical_now{std::chrono::hours(1)};
  jwt_verifier verifier{[] {
    jwt_settings s;
    s.issuer = "https://idp.test";
    s.audiences = {"mcp"};
    return s;
  }()};

  std::unique_ptr<jwks_cache> make_cache(std::chrono::milliseconds fetch_timeout = std::chrono::seconds(5)) {
    jwks_cache::settings s;
    s.url = "https://idp.test/certs";
    s.fetch_timeout = fetch_timeout;
    s.min_refresh_interval = std::chrono::seconds(30);
    return std::make_unique<jwks_cache>(s, issuer.fetcher(), [this] { return logical_now; });
  }

  // Verifies as the authenticator does: an unknown kid refreshes once.
  jwt_result check(jwks_cache& cache, const std::string& token) {
    auto result = verifier.verify(token, *cache.keys(), std::chrono::system_clock::time_point(std::chrono::seconds(now_s)));
    if (result.error.kind == jwt_failure::unknown_key && run(io, cache.refresh_for_unknown_key())) {
      result = verifier.verify(token, *cache.keys(), std::chrono::system_clock::time_point(std::chrono::seconds(now_s)));
    }
    return result;
  }
};

TEST_F(jwks_cache_test, unknown_kid_refreshes_then_finds_the_rotated_key) {
  const auto& old_key = shared_key(test_kind::rsa, 0);
  const auto& new_key = shared_key(test_kind::rsa, 1);
  issuer.document = jwks_text(json::array({public_jwk(old_key)}));
  auto cache = make_cache();
  EXPECT_TRUE(run(io, cache->refresh()));
  EXPECT_EQ(issuer.fetches, 1);
  EXPECT_TRUE(check(*cache, sign_jwt(old_key, "RS256", claims())).ok());
  EXPECT_EQ(issuer.fetches, 1) << "a known kid fetches nothing";

  issuer.document = jwks_text(json::array({public_jwk(old_key), public_jwk(new_key)}));
  logical_now += std::chrono::seconds(31);
  const auto r = check(*cache, sign_jwt(new_key, "RS256", claims()));
  EXPECT_TRUE(r.ok()) << r.error.reason;
  EXPECT_EQ(issuer.fetches, 2);
}

TEST_F(jwks_cache_test, still_unknown_after_refresh_is_refused_and_refreshes_are_spaced) {
  issuer.document = jwks_text(json::array({public_jwk(shared_key(test_kind::rsa, 0))}));
  auto cache = make_cache();
  EXPECT_TRUE(run(io, cache->refresh()));
  logical_now += std::chrono::seconds(31);
  const auto stranger = sign_jwt(shared_key(test_kind::rsa, 1), "RS256", claims());
  auto r = check(*cache, stranger);
  EXPECT_EQ(r.error.kind, jwt_failure::unknown_key);
  EXPECT_EQ(issuer.fetches, 2);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(check(*cache, stranger).error.kind, jwt_failure::unknown_key);
  EXPECT_EQ(issuer.fetches, 2) << "no refresh storm: at most one per min_refresh_interval";
  logical_now += std::chrono::seconds(30);
  (void)check(*cache, stranger);
  EXPECT_EQ(issuer.fetches, 3);
}

TEST_F(jwks_cache_test, a_revoked_key_stops_verifying_after_refresh) {
  const auto& key = shared_key(test_kind::ec_p256);
  issuer.document = jwks_text(json::array({public_jwk(key)}));
  auto cache = make_cache();
  EXPECT_TRUE(run(io, cache->refresh()));
  const auto token = sign_jwt(key, "ES256", claims());
  EXPECT_TRUE(check(*cache, token).ok());
  issuer.document = jwks_text(json::array());
  EXPECT_TRUE(run(io, cache->refresh()));
  EXPECT_EQ(check(*cache, token).error.kind, jwt_failure::unknown_key);
}

TEST_F(jwks_cache_test, a_failed_or_stalled_fetch_keeps_the_previous_keys) {
  const auto& key = shared_key(test_kind::ed25519);
  issuer.document = jwks_text(json::array({public_jwk(key)}));
  auto cache = make_cache(std::chrono::milliseconds(20));
  EXPECT_TRUE(run(io, cache->refresh()));
  issuer.document = "<html>oops</html>";
  EXPECT_FALSE(run(io, cache->refresh()));
  EXPECT_TRUE(check(*cache, sign_jwt(key, "EdDSA", claims())).ok());
  issuer.stall = true;
  const auto started = std::chrono::steady_clock::now();
  EXPECT_FALSE(run(io, cache->refresh()));
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(5)) << "the deadline cut the fetch";
  EXPECT_TRUE(check(*cache, sign_jwt(key, "EdDSA", claims())).ok());
}

TEST_F(jwks_cache_test, concurrent_refreshes_share_one_fetch) {
  issuer.document = jwks_text(json::array({public_jwk(shared_key(test_kind::rsa))}));
  auto cache = make_cache();
  int done = 0;
  for (int i = 0; i < 5; ++i) {
    asio::co_spawn(io, cache->refresh(), [&](std::exception_ptr, bool ok) {
      EXPECT_TRUE(ok);
      ++done;
    });
  }
  io.run();
  EXPECT_EQ(done, 5);
  EXPECT_EQ(issuer.fetches, 1);
  EXPECT_EQ(cache->keys()->keys.size(), 1U);
}

TEST_F(jwks_cache_test, file_and_fixed_keys) {
  const auto path = ::testing::TempDir() + "/jwks_test.json";
  {
    std::ofstream out(path);
    out << jwks_text(json::array({public_jwk(shared_key(test_kind::ec_p384))}));
  }
  jwks_cache::settings s;
  s.file = path;
  s.fixed_keys.push_back(hmac_key(std::string(32, 'k')));
  jwks_cache cache(s, nullptr);
  EXPECT_EQ(cache.keys()->keys.size(), 1U) << "fixed keys are present from the start";
  EXPECT_TRUE(cache.load_file());
  EXPECT_EQ(cache.keys()->keys.size(), 2U);
  EXPECT_EQ(cache.keys()->keys[0].kind, key_kind::hmac);
  EXPECT_EQ(cache.keys()->keys[1].kind, key_kind::ec_p384);
  jwks_cache missing({"/nonexistent/jwks.json", "", {}, std::chrono::seconds(1), std::chrono::seconds(1)}, nullptr);
  EXPECT_FALSE(missing.load_file());
  EXPECT_TRUE(missing.keys()->keys.empty());
}

}  // namespace
}  // namespace manifold::access
