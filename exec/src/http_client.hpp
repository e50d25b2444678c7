#pragma once

// Private to exec/: one HTTP(S) request for a REST tool, bounded in time and size
// (io/http_client.hpp), cancelled through the call's process_control.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>

#include "manifold/exec/process.hpp"
#include "manifold/io/http_client.hpp"

namespace manifold::exec::detail {

using io::http_request;
using io::http_response;

// io::send_request with User-Agent manifold-exec; control->cancel() abandons it.
boost::asio::awaitable<http_response> send_request(boost::asio::any_io_executor executor,
                                                   http_request request,
                                                   std::shared_ptr<process_control> control);

}  // namespace manifold::exec::detail
