#pragma once

// Private to proxy/: what a host request is answered with (methods.hpp, bridged_call.hpp).

#include <optional>

#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/peer.hpp"

namespace manifold::proxy {

using protocol::json;

// The answer to one host request: a result, an error, or nothing (cancelled by the host).
struct answer {
  std::optional<json> result;
  std::optional<protocol::rpc_error> error;
  bool silent = false;

  static answer ok(json r) { return {std::move(r), std::nullopt, false}; }
  static answer fail(protocol::rpc_error e) { return {std::nullopt, std::move(e), false}; }
  static answer invalid_params(std::string message) {
    return fail({protocol::error_code::invalid_params, std::move(message), std::nullopt});
  }
  static answer from(protocol::rpc_reply r) {
    if (r.cancelled) return {std::nullopt, std::nullopt, true};
    if (r.ok()) return ok(std::move(r.result));
    return fail(std::move(*r.error));
  }
};

}  // namespace manifold::proxy
