#pragma once

// Private to proxy/: one 2026-07-28 host call (tools/call, prompts/get, resources/read) to a
// handshake-era upstream, kept as a *pending call* while the upstream asks for input.
//
// The upstream pushes sampling/createMessage, elicitation/create and roots/list requests
// during its call; a 2026-07-28 host takes no requests, so each becomes a *leg*: the
// upstream's request stays open (its coroutine waits in ask()), and the host request
// attached to the call is answered with an InputRequiredResult listing every open leg under
// a key of manifold's ("elicitation-1", "sampling-2", "roots-3") and a sealed requestState.
// The host's retry (a new request carrying inputResponses and that state) attaches to the
// call, answers the legs it has answers for, and waits again: for the call's result, the
// next round, or the deadline. Legs it left out are asked again.
//
// Ownership: the registry (bridged_calls) holds the call until it ends; the coroutine that
// runs the upstream call (the "driver", host_session.cpp) holds it until that returns.
// Ending (abort or a delivered result) answers every open leg and cancels the upstream call.
// Thread: the io thread.

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>

#include "manifold/io/event.hpp"
#include "manifold/protocol/modern.hpp"
#include "manifold/protocol/peer.hpp"
#include "answer.hpp"
#include "request_state.hpp"

namespace manifold::proxy {

// Bounds of bridged calls (relay_options).
struct bridge_limits {
  std::chrono::milliseconds lifetime{std::chrono::minutes(10)};  // from the first request
  std::size_t max_calls = 256;        // calls waiting for a host's retry, per process
  std::uint64_t max_rounds = protocol::modern::max_input_rounds;  // InputRequiredResults per call
  std::size_t max_legs = protocol::modern::max_input_requests;    // open legs (input requests) per call
  // The coalescing window: after an input request, wait this long for more (each new one
  // extends it), at most max_window in all, before answering the host.
  std::chrono::milliseconds window{75};
  std::chrono::milliseconds max_window{500};
};

// The host request a round is served to.
struct bridge_attachment {
  protocol::json capabilities = protocol::json::object();  // what this request declares
  protocol::json progress_token;  // null: this request asked for no progress
  int log_threshold = 8;          // lowest log severity it hears (8: none)
  // Sends a notification on that request's response stream.
  std::function<void(std::string_view method, protocol::json params)> send;
};

class bridged_call : public std::enable_shared_from_this<bridged_call> {
 public:
  using clock = std::chrono::steady_clock;

  // `on_end` runs once, when the call ends (the registry forgets it there).
  bridged_call(std::string id, std::uint64_t session, std::string principal, request_state sealed,
               clock::time_point deadline, const bridge_limits& limits, std::function<void()> on_end);

  [[nodiscard]] const std::string& id() const { return id_; }
  [[nodiscard]] std::uint64_t session() const { return session_; }
  [[nodiscard]] const std::string& principal() const { return principal_; }
  [[nodiscard]] std::uint64_t round() const { return round_; }
  [[nodiscard]] clock::time_point deadline() const { return deadline_; }
  // The host has an InputRequiredResult of the current round and no retry has come yet.
  [[nodiscard]] bool awaiting_retry() const { return awaiting_retry_; }
  // Waiting for the host with every request of the upstream's asked: the upstream is blocked
  // on those answers and sends nothing more for this call until they come.
  [[nodiscard]] bool quiescent() const { return awaiting_retry_ && !legs_.empty(); }
  [[nodiscard]] bool ended() const { return ended_; }
  // The id the upstream call is registered under (relay routing, progress): a string no
  // host request id can be confused with, since it is never a host's.
  [[nodiscard]] const protocol::json& related() const { return related_; }
  static std::string related_prefix() { return "manifold-bridge:"; }

  // --- the upstream's side ---
  // A request the upstream sent during the call. Asked of the host in a round and answered
  // with the host's answer; answered here at once when the attached host request did not
  // declare the capability it needs (elicitation: decline; others: -32601). `preferred`: the
  // key a 2026-07-28 upstream gave it in its inputRequests; the host sees that key when it
  // is not empty, at most max_preferred_key bytes and no other open leg has it, else one of
  // manifold's.
  boost::asio::awaitable<protocol::rpc_reply> ask(std::string method, protocol::json params, std::string preferred,
                                                  std::shared_ptr<protocol::call_control> control);
  // Progress and log messages of the upstream call: to the attached host request (progress
  // under its own token, logs at its level); dropped while no request is attached.
  void notify(std::string_view method, protocol::json params);

  // --- the driver ---
  // The upstream call's cancel handle: ending the call cancels it.
  [[nodiscard]] const std::shared_ptr<protocol::call_control>& upstream_control() const { return upstream_; }
  void finish(answer out);

  // --- the host's side ---
  // Serves one host request: attaches it, and answers with the call's result, an
  // InputRequiredResult (after the coalescing window), or an error when the deadline or a
  // limit ends the call. `host_control` is the host request's: cancelling it ends the call.
  // `may_wait`: whether one more call may wait for a host's retry (the process-wide bound).
  boost::asio::awaitable<answer> serve(bridge_attachment host, std::shared_ptr<protocol::call_control> host_control,
                                       const request_state_codec& codec, std::function<bool()> may_wait);
  // A retry's inputResponses: each open leg it answers (an object) is answered to the
  // upstream; the others stay open and are asked again. Other keys are ignored.
  void deliver(const protocol::json& responses);
  // Ends the call: open legs answered (elicitation: cancel; others: -32603 `reason`), the
  // upstream call cancelled, the attached request answered -32603 (silently when the host
  // cancelled it).
  void abort(const std::string& reason);

 private:
  struct leg {
    std::string method;
    protocol::json params;  // as the host sees it
    std::optional<protocol::rpc_reply> reply;
    io::event answered;
  };
  static constexpr std::size_t max_preferred_key = 256;
  void changed();
  // The key of a new leg: `preferred` where allowed (ask()), else a fresh one of manifold's.
  std::string key_for(std::string_view method, std::string preferred);
  // Ends the call: open legs answered (elicitation: cancel; others: -32603 `reason`).
  void end(const std::string& reason);
  // The -32021 answer when the call asked the host nothing and needed a capability it lacks.
  std::optional<answer> missing_capability() const;
  protocol::json input_required(const request_state_codec& codec);

  std::string id_;
  std::uint64_t session_;
  std::string principal_;
  request_state sealed_;  // the fields every round's state binds (round and expiry set per round)
  clock::time_point deadline_;
  bridge_limits limits_;
  std::function<void()> on_end_;
  protocol::json related_;
  std::shared_ptr<protocol::call_control> upstream_ = std::make_shared<protocol::call_control>();
  std::uint64_t round_ = 0;
  bool awaiting_retry_ = false;
  bool ended_ = false;
  bool driver_done_ = false;
  bool host_cancelled_ = false;
  std::string abort_reason_;
  protocol::json capabilities_ = protocol::json::object();  // of the latest attached request
  std::optional<answer> result_;
  bool asked_any_ = false;
  protocol::json required_;  // capabilities legs needed that the host did not declare
  std::uint64_t next_key_ = 1;
  std::uint64_t legs_seen_ = 0;
  std::map<std::string, std::shared_ptr<leg>> legs_;  // open legs by key
  std::optional<bridge_attachment> attached_;
  double last_progress_ = -1;
  std::shared_ptr<io::event> changed_ = std::make_shared<io::event>();
};

// The client capability a server's request needs, as -32021 names it; null for none.
protocol::json required_capability(std::string_view method, const protocol::json& params);
// Whether `capabilities` declare `needed` (an elicitation declared as {} means form).
bool declares(const protocol::json& capabilities, const protocol::json& needed);

}  // namespace manifold::proxy
