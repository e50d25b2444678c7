#pragma once

// One HTTP(S) request, bounded in time and size: the REST tools of exec/ and the OTLP trace
// exporter of observe/ use it. One connection per request (no pooling).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace manifold::io {

struct http_request {
  std::string method;
  bool tls = false;
  std::string host;
  std::string port;
  std::string target;  // path and query, already percent-encoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::optional<std::string> body;  // sent as application/json unless a header says otherwise
  std::string ca_file;              // an extra trust anchor for https
  std::string user_agent = "manifold";
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::size_t read_limit = 8 * 1024 * 1024;  // a larger response body is refused
  // Streaming (a long-lived response such as the traffic tap's): when set, a 2xx body is
  // handed over piece by piece as it arrives instead of kept (http_response::body stays
  // empty, read_limit does not apply); returning false stops reading. `timeout` then bounds
  // the connection and the response head, and `idle_timeout` each wait for more body.
  std::function<bool(std::string_view piece)> on_body{};
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(60)};
};

struct http_response {
  std::string error;  // set when there is no response (connect, TLS, timeout, too large)
  bool timed_out = false;
  bool cancelled = false;
  int status = 0;
  std::string content_type;
  std::string body;
};

// Lets a caller abandon a request in flight: send_request sets `cancel` while the request
// runs and clears it when it completes; calling it closes the connection and the request
// completes as cancelled.
struct http_cancel {
  std::function<void()> cancel;
};

// Connects (verifying the peer for https: chain, host name, SNI), sends `request` and reads
// the response, all within request.timeout. Thread: the executor's.
boost::asio::awaitable<http_response> send_request(boost::asio::any_io_executor executor,
                                                   http_request request,
                                                   std::shared_ptr<http_cancel> cancel = nullptr);

}  // namespace manifold::io
