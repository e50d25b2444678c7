#pragma once

// Private to proxy/: the `requestState` manifold hands a 2026-07-28 host when it bridges a
// handshake-era upstream's sampling, elicitation or roots requests into an
// InputRequiredResult. The token is opaque to the host and tamper-evident: AES-256-GCM
// (key_ring) under a key of this process, binding the pending call, its round, who asked,
// what was asked (method and a digest of the name or URI and arguments) and an expiry.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "manifold/protocol/json_access.hpp"
#include "manifold/proxy/key_ring.hpp"

namespace manifold::proxy {

struct request_state {
  std::string call;       // the pending call's id
  std::uint64_t round = 0;
  std::string subject;    // who asked (principal and group)
  std::string method;     // tools/call, prompts/get or resources/read
  std::string digest;     // request_digest() of the originating request
  std::int64_t expires = 0;  // unix seconds
};

// A hex SHA-256 over the parts of `params` that say what is asked: the tool or prompt name
// or the resource URI, and the arguments (canonical JSON: keys sorted). `_meta`,
// `inputResponses` and `requestState` do not count, so every retry of a request has the
// digest of the first.
std::string request_digest(std::string_view method, const protocol::json& params);

class request_state_codec {
 public:
  // A codec under a random 32-byte key of its own (pending calls live in this process).
  request_state_codec();
  explicit request_state_codec(std::shared_ptr<const key_ring> keys);

  [[nodiscard]] std::string seal(const request_state& state) const;

  enum class problem { none, malformed, forged, expired, wrong_subject, wrong_request };
  struct opened {
    std::optional<request_state> state;  // set when every check passed
    problem why = problem::none;
  };
  // The state in `token` if it opens under this codec's key, has not expired at `now`
  // (unix seconds), and was sealed for `subject` asking `method` with `digest`.
  [[nodiscard]] opened open(std::string_view token, std::string_view subject, std::string_view method,
                            std::string_view digest, std::int64_t now) const;

 private:
  std::shared_ptr<const key_ring> keys_;
};

const char* to_string(request_state_codec::problem why);

}  // namespace manifold::proxy
