// `manifold tap`: a client of a running manifold's /admin/tap endpoint (proxy/admin.hpp).
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>
#include <iostream>
#include <memory>
#include <string>

#include "commands.hpp"
#include "manifold/io/http_client.hpp"

namespace manifold::app {

namespace asio = boost::asio;

namespace {

// The tap's first response must come this soon; then the server writes at least every 15 s.
constexpr std::chrono::seconds connect_timeout{10};
constexpr std::chrono::seconds idle_timeout{60};

// Complete lines of the stream to stdout, without the keep-alive empty lines.
class line_writer {
 public:
  void feed(std::string_view piece) {
    pending_.append(piece);
    std::size_t start = 0;
    for (auto nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n', start)) {
      if (nl > start) {
        std::cout.write(pending_.data() + start, static_cast<std::streamsize>(nl - start + 1));
      }
      start = nl + 1;
    }
    pending_.erase(0, start);
    std::cout.flush();
  }

 private:
  std::string pending_;
};

}  // namespace

int run_tap(const tap_options& options) {
  const auto parsed = boost::urls::parse_uri(options.url);
  if (!parsed || (parsed->scheme() != "http" && parsed->scheme() != "https") || parsed->encoded_host().empty()) {
    std::cerr << "--url must be the http(s) URL of a running manifold, such as http://127.0.0.1:8080, not `"
              << options.url << "`\n";
    return exit_bad_config;
  }
  boost::urls::url target;
  target.set_path("/admin/tap");
  if (!options.session.empty()) target.params().append({"session", options.session});
  if (!options.upstream.empty()) target.params().append({"upstream", options.upstream});
  if (!options.method.empty()) target.params().append({"method", options.method});

  io::http_request request;
  request.method = "GET";
  request.tls = parsed->scheme() == "https";
  request.host = std::string(parsed->encoded_host());
  if (request.host.size() > 2 && request.host.front() == '[') request.host = request.host.substr(1, request.host.size() - 2);
  request.port = parsed->has_port() ? std::string(parsed->port()) : (request.tls ? "443" : "80");
  request.target = std::string(target.encoded_target());
  request.headers.emplace_back("Accept", "application/x-ndjson");
  if (!options.token.empty()) request.headers.emplace_back("Authorization", "Bearer " + options.token);
  request.ca_file = options.ca_file;
  request.timeout = connect_timeout;
  request.idle_timeout = idle_timeout;
  auto lines = std::make_shared<line_writer>();
  request.on_body = [lines](std::string_view piece) {
    lines->feed(piece);
    return static_cast<bool>(std::cout);
  };

  asio::io_context io(1);
  auto cancel = std::make_shared<io::http_cancel>();
  bool interrupted = false;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  // Ctrl-C or SIGTERM ends the tap at once, whatever the stream is doing (cancelling the read
  // alone misses a signal that lands between two reads).
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    interrupted = true;
    if (cancel->cancel) cancel->cancel();
    io.stop();
  });
  io::http_response response;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        response = co_await io::send_request(io.get_executor(), std::move(request), cancel);
        signals.cancel();
      },
      [](const std::exception_ptr& e) {
        if (e) std::rethrow_exception(e);
      });
  io.run();

  if (interrupted) return exit_ok;
  if (response.status == 0) {
    std::cerr << "tap: " << (response.error.empty() ? "no response" : response.error) << '\n';
    return exit_failure;
  }
  if (response.status != 200) {
    std::cerr << "tap: HTTP " << response.status << (response.body.empty() ? "" : ": " + response.body) << '\n';
    return exit_failure;
  }
  if (!response.error.empty()) {
    std::cerr << "tap: the stream ended: " << response.error << '\n';
    return exit_failure;
  }
  return exit_ok;
}

}  // namespace manifold::app
