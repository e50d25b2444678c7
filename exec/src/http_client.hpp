#pragma once

// Private to exec/: one HTTP(S) request for a REST tool, bounded in time and size.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "manifold/exec/process.hpp"

namespace manifold::exec::detail {

struct http_request {
  std::string method;
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query, already percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> body;
  std::string ca_file;  // an extra trust anchor for https
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::size_t read_limit = 8 * 1024 * 1024;  // a larger response body is refused
};

struct http_response {
  std::string error;  // set when there is no response (connect, TLS, timeout, too large)
  bool timed_out = false;
  bool cancelled = false;
  int status = 0;
  std::string content_type;
  std::string body;
};

// Connects (verifying the peer for https: chain, host name, SNI), sends `request` and reads
// the response, all within request.timeout; control->cancel() abandons it.
boost::asio::awaitable<http_response> send_request(boost::asio::any_io_executor executor,
                                                   http_request request,
                                                   std::shared_ptr<process_control> control);

}  // namespace manifold::exec::detail
