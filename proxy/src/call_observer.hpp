#pragma once

// Private to proxy/: what one host request leaves behind for the operator, when telemetry
// is on: the server-side metrics and SERVER span of the request, the client-side metrics and
// CLIENT span of each upstream request it makes (whose traceparent the upstream receives in
// `_meta`), and its entry among the status page's recent calls. Lives in the frame of the
// coroutine that serves the request. Thread: the io thread.

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "manifold/access/audit_record.hpp"
#include "manifold/observe/telemetry.hpp"
#include "manifold/protocol/channel.hpp"
#include "manifold/protocol/json_rpc.hpp"
#include "manifold/protocol/peer.hpp"

namespace manifold::proxy {

// Where a request came from, for span attributes and the tap.
struct request_origin {
  std::string_view session;           // the session's label (Mcp-Session-Id, or its number)
  protocol::link_description link{};
  std::string_view protocol_version;  // negotiated with the host
};

class call_observer {
 public:
  // Starts timing `request` (and its SERVER span, a child of the context its `_meta`
  // carries). `t` may be null: then nothing is recorded.
  call_observer(const observe::telemetry* t, const protocol::message& request, const request_origin& origin);
  call_observer(const call_observer&) = delete;
  call_observer& operator=(const call_observer&) = delete;
  ~call_observer() = default;

  [[nodiscard]] bool on() const { return t_ != nullptr; }
  // The upstream that serves the request (its `upstream` label).
  void target(std::string_view upstream);
  // A call-time rule or a limit refused it (an audit outcome: refused or rate_limited).
  void refused(access::audit_outcome outcome);

  // One upstream request of this host request: started (the CLIENT span's traceparent goes
  // into `params._meta`), then finished with its reply.
  struct upstream_call {
    std::chrono::steady_clock::time_point started{};
    std::optional<observe::span> span;
    std::string upstream;
    observe::upstream_series* series = nullptr;  // the upstream's metrics, when on
  };
  upstream_call upstream_started(const std::string& upstream, std::string_view method, protocol::json& params);
  void upstream_finished(upstream_call& call, std::string_view method, const protocol::rpc_reply& reply);
  // The trace id, when the request is traced and sampled ("" otherwise), for logs.
  [[nodiscard]] std::string trace_id() const;

  // The host request ended: `error` or `result` answered it, or it was cancelled (neither).
  void finished(const protocol::rpc_error* error, const protocol::json* result, bool cancelled,
                std::string_view principal);

 private:
  [[nodiscard]] observe::call_outcome outcome_of(const protocol::rpc_error* error, const protocol::json* result,
                                                 bool cancelled) const;

  const observe::telemetry* t_;
  std::chrono::steady_clock::time_point started_ = std::chrono::steady_clock::now();
  std::string method_;
  std::string tool_;  // the exposed tool or prompt name (the `tool` label); "" otherwise
  std::string uri_;   // resources/read's URI
  std::string upstream_;
  std::optional<observe::call_outcome> refusal_;
  std::optional<observe::span> span_;
  std::string session_;
  std::string protocol_version_;
  std::string_view network_transport_;  // a literal
};

}  // namespace manifold::proxy
