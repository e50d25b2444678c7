#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>

#include "manifold/protocol/peer.hpp"
#include "manifold/proxy/relay.hpp"

namespace manifold::proxy {

// A host inside manifold: one host session driven over an in-process channel, so that a
// command (`manifold call`, drills) takes exactly the path a real host's requests take:
// views, groups, roles, argument rules, limits, routing. Requests the session sends to its
// host (elicitation, sampling, roots) are answered by `on_request`. Thread: the io thread.
class local_client {
 public:
  using request_handler = std::function<protocol::rpc_reply(const protocol::message&)>;

  local_client(boost::asio::any_io_executor executor, relay& relay, group_view group,
               session_identity who, request_handler on_request);
  ~local_client();
  local_client(const local_client&) = delete;
  local_client& operator=(const local_client&) = delete;

  // initialize (declaring `capabilities`) and notifications/initialized.
  boost::asio::awaitable<protocol::rpc_reply> initialize(protocol::json capabilities,
                                                         std::chrono::steady_clock::time_point deadline);
  // One request through the session; its reply or the error (a timeout at `deadline`).
  boost::asio::awaitable<protocol::rpc_reply> request(std::string method, protocol::json params,
                                                      std::chrono::steady_clock::time_point deadline);
  // Ends the session (its host side closes) and waits for it to finish.
  boost::asio::awaitable<void> close();

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace manifold::proxy
