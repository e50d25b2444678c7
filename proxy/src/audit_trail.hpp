#pragma once

// Private to proxy/: one audit record per audited host request (tools/call, prompts/get,
// resources/read), written through the gate when auditing is on.

#include <chrono>
#include <string>

#include "methods.hpp"

namespace manifold::proxy {

class audit_trail {
 public:
  // Starts timing a request for `name` (an exposed tool or prompt name, or a URI).
  audit_trail(request_context& ctx, std::string name, const json& arguments);

  void target(std::string upstream, std::string original) {
    upstream_ = std::move(upstream);
    original_ = std::move(original);
  }
  // A refusal by the rules (`rule` names it) or a limit.
  void refused(const std::string& rule, access::audit_outcome outcome);
  // The upstream's answer (a result, isError, a JSON-RPC error, a timeout, a cancel).
  void answered(const protocol::rpc_reply& reply);

 private:
  void write(access::audit_record record, json result = nullptr);

  request_context& ctx_;
  bool on_;
  std::string name_;
  json arguments_;
  std::string upstream_;
  std::string original_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
};

}  // namespace manifold::proxy
