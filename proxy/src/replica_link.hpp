#pragma once

// Private to proxy/: what one replica sends another when sessions are sealed (http.sessions):
// a host's answer to a request the other replica sent it, and notices of sessions that ended.
// Each send is bounded in time and failures are logged, never thrown. Thread: the io thread.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace manifold::proxy {

// The path on which replicas take notices of ended sessions (the body is the sealed notice).
inline constexpr std::string_view ended_notice_path = "/manifold/ended-session";
// Marks a request relayed by another replica (never relayed again).
inline constexpr std::string_view relayed_header = "X-Manifold-Relayed";

// POSTs the host's request `req` (an answer) to the replica at base URL `address`, with the
// host's own headers (it authenticates the host as this one did).
boost::asio::awaitable<void> relay_answer(boost::asio::any_io_executor executor,
                                          const boost::beast::http::request<boost::beast::http::string_body>& req,
                                          std::string address);

// Sends `notice` to every address of every peer base URL (an http host name is resolved to
// all its addresses, as a headless Service's is; an https one is reached by name), to all
// at once; completes when each has answered or failed (a few seconds at most).
boost::asio::awaitable<void> tell_peers(boost::asio::any_io_executor executor, std::string notice,
                                        std::vector<std::string> peers);

}  // namespace manifold::proxy
