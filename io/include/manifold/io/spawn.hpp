#pragma once

#include <exception>
#include <string>

namespace manifold::io {

// A completion handler for co_spawn of a coroutine nobody awaits: an exception that escapes
// it is logged with `what` (never silently dropped as asio::detached would, and never out
// of io_context::run). Coroutines that read from a peer still catch per message, so that one
// bad message never ends the loop; this is the last line.
class log_failure {
 public:
  explicit log_failure(std::string what) : what_(std::move(what)) {}
  void operator()(const std::exception_ptr& failure) const;

 private:
  std::string what_;
};

}  // namespace manifold::io
