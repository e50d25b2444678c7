#pragma once

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>

#include "manifold/protocol/channel.hpp"

namespace manifold::upstream {

// How manifold reaches one upstream: a child process today, a network endpoint later.
// The client session above it sees only the channel it opens.
// Thread: all calls on the upstream's executor.
class transport {
 public:
  transport() = default;
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;
  virtual ~transport() = default;

  // Starts or connects. Throws std::runtime_error with a message a person can act on.
  virtual boost::asio::awaitable<std::shared_ptr<protocol::channel>> open() = 0;
  // Ends the link within `budget`: polite first, forceful at the end. Idempotent.
  virtual boost::asio::awaitable<void> close(std::chrono::milliseconds budget) = 0;
  // How the link ended, for messages ("exited with status 1"); empty while it is up.
  [[nodiscard]] virtual std::string end_reason() const = 0;
  // A failure drill's crash: ends the link at once without ceremony. Returns true when the
  // channel will end by itself (a child killed with SIGKILL); false when the caller closes
  // the channel (a connection simply dropped).
  virtual bool abort() { return false; }
};

}  // namespace manifold::upstream
