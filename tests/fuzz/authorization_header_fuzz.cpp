// libFuzzer target: the authenticator fed arbitrary Authorization (and X-API-Key) header
// values. Every input ends in a principal or a refusal with a status and a challenge, and no
// refusal ever echoes the credential it was given.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "fuzz_keys.hpp"
#include "manifold/access/api_key_store.hpp"
#include "manifold/access/authenticator.hpp"

namespace {

using namespace manifold::access;  // NOLINT(google-build-using-namespace)

const std::string api_key = "mfd_fuzz-api-key-0123456789abcdefghijklmnop";

manifold::config::auth_config auth_config(bool custom_header) {
  manifold::config::auth_config cfg;
  cfg.api_keys = {{"fuzz-bot", hash_api_key(api_key, std::string(16, '\x2a')), {"dev"}, {}}};
  if (custom_header) cfg.api_key_header = "X-API-Key";
  cfg.jwt.issuer = "https://idp.test";
  cfg.jwt.audiences = {"mcp"};
  cfg.jwt.hs256_secret = fuzzing::fuzz_hmac_secret;
  cfg.jwt.algorithms = {"ES256", "HS256"};
  cfg.resource.url = "https://mcp.test/mcp";
  cfg.resource.required_scopes = {"mcp.tools"};
  return cfg;
}

authenticator& instance(bool custom_header) {
  static authenticator bearer(auth_config(false), {nullptr, [] { return fuzzing::fuzz_now; }});
  static authenticator custom(auth_config(true), {nullptr, [] { return fuzzing::fuzz_now; }});
  return custom_header ? custom : bearer;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  // The first byte picks the header layout; the rest is the header value.
  const bool custom = (data[0] & 1U) != 0;
  const std::string value(reinterpret_cast<const char*>(data) + 1, size - 1);  // NOLINT
  const bool raw_key = custom && (data[0] & 2U) != 0;
  const auto authenticate = [&](const std::string& presented) {
    const header_lookup headers = [&](std::string_view name) -> std::optional<std::string_view> {
      if (name == (raw_key ? "X-API-Key" : "Authorization")) return std::string_view(presented);
      return std::nullopt;
    };
    boost::asio::io_context io;
    std::optional<auth_outcome> outcome;
    boost::asio::co_spawn(io, instance(custom).authenticate(headers),
                          [&](std::exception_ptr e, auth_outcome o) {
                            if (e) __builtin_trap();  // errors are values, never exceptions
                            outcome = std::move(o);
                          });
    io.run();
    if (!outcome) __builtin_trap();
    return std::move(*outcome);
  };
  const auto outcome = authenticate(value);
  if (!outcome.ok()) {
    const auto& r = outcome.refused;
    if (r.status != 400 && r.status != 401 && r.status != 403) __builtin_trap();
    // The credential (what follows the scheme) is never echoed back. Text that is there
    // whatever the credential (the scheme, a fixed phrase) is not an echo: the same request
    // with the credential replaced must not show it either.
    const auto space = value.find(' ');
    const std::string secret = raw_key ? value : space == std::string::npos ? std::string() : value.substr(space + 1);
    const auto shows = [&](const auth_outcome& o) {
      return o.refused.message.find(secret) != std::string::npos ||
             o.refused.www_authenticate.find(secret) != std::string::npos;
    };
    if (secret.size() >= 8 && shows(outcome)) {
      const std::string other = raw_key ? std::string(secret.size(), 'Q')
                                        : value.substr(0, space + 1) + std::string(secret.size(), 'Q');
      if (!shows(authenticate(other))) __builtin_trap();
    }
  }
  return 0;
}
