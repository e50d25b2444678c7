#pragma once

// Private to proxy/: every bridged_call of this process, by id, with the requestState codec
// and the limits they share. Owned by the relay: a call started in one host session (over
// HTTP, the short-lived session of the first request) is continued from another (the
// retry's). Thread: the io thread.

#include <boost/asio/any_io_executor.hpp>
#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "bridged_call.hpp"
#include "manifold/io/event.hpp"
#include "request_state.hpp"

namespace manifold::proxy {

class bridged_calls {
 public:
  bridged_calls(boost::asio::any_io_executor executor, bridge_limits limits);
  bridged_calls(const bridged_calls&) = delete;
  bridged_calls& operator=(const bridged_calls&) = delete;

  // A new call of `session` for `principal` (`subject`: what its states bind), ending at the
  // lifetime's deadline at the latest (a watchdog aborts it then).
  std::shared_ptr<bridged_call> start(std::uint64_t session, const std::string& principal, request_state sealed);
  [[nodiscard]] std::shared_ptr<bridged_call> find(const std::string& id) const;
  // The call whose upstream request is registered under `related` (bridged_call::related()).
  [[nodiscard]] std::shared_ptr<bridged_call> find_related(const protocol::json& related) const;
  // Whether one more call may wait for a host's retry.
  [[nodiscard]] bool may_wait() const;
  // Ends every call of `session` (it is going away).
  void abort_session(std::uint64_t session, const std::string& reason);
  // Calls of `session` that have not ended, and an event set whenever one ends.
  [[nodiscard]] std::size_t owned_by(std::uint64_t session) const;
  [[nodiscard]] std::shared_ptr<io::event> ended_signal() const { return ended_; }

  [[nodiscard]] const request_state_codec& codec() const { return codec_; }
  [[nodiscard]] const bridge_limits& limits() const { return limits_; }

 private:
  boost::asio::any_io_executor executor_;
  bridge_limits limits_;
  request_state_codec codec_;
  std::map<std::string, std::shared_ptr<bridged_call>> calls_;
  std::shared_ptr<io::event> ended_ = std::make_shared<io::event>();
};

}  // namespace manifold::proxy
