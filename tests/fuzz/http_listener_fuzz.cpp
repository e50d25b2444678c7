// The HTTP listener as a host sees it: any bytes on a connection end in a response or a
// close, never a crash or a hang, and the listener keeps serving the next connection. A real
// listener on loopback with a gateway of no upstreams; each input is one connection.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <cstddef>
#include <cstdint>
#include <spdlog/spdlog.h>
#include <string>

#include "manifold/config/config.hpp"
#include "manifold/gateway/gateway.hpp"
#include "manifold/proxy/http_server.hpp"
#include "manifold/proxy/relay.hpp"

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
namespace proxy = manifold::proxy;

namespace {

struct fixture {
  fixture() : backend(io.get_executor(), config), relay(proxy::make_relay(io.get_executor(), backend, {})) {
    spdlog::set_level(spdlog::level::off);
    backend.attach(relay.get());
    proxy::http_options options;
    options.read_timeout = std::chrono::milliseconds(500);
    server = proxy::make_http_server(io.get_executor(), *relay, backend, options);
    asio::co_spawn(io, server->run(), asio::detached);
  }
  asio::io_context io{1};
  manifold::config::config config;
  manifold::gateway::backend backend;
  std::unique_ptr<proxy::relay> relay;
  std::unique_ptr<proxy::http_server> server;
};

asio::awaitable<void> exchange(tcp::endpoint where, std::string bytes, bool& done) {
  tcp::socket socket(co_await asio::this_coro::executor);
  auto [cec] = co_await socket.async_connect(where, asio::as_tuple(asio::use_awaitable));
  if (!cec) {
    co_await asio::async_write(socket, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
    boost::system::error_code ignored;
    socket.shutdown(tcp::socket::shutdown_send, ignored);
    std::string reply;
    auto buffer = asio::dynamic_buffer(reply, 1 << 20);
    co_await asio::async_read(socket, buffer, asio::as_tuple(asio::use_awaitable));
  }
  done = true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static auto* f = new fixture();
  bool done = false;
  const tcp::endpoint where(asio::ip::make_address("127.0.0.1"), f->server->port());
  asio::co_spawn(f->io, exchange(where, std::string(reinterpret_cast<const char*>(data), size), done),  // NOLINT
                 asio::detached);
  // The server's own deadlines end every exchange; this bound only keeps a bug from hanging
  // the fuzzer silently.
  const auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!done) {
    if (std::chrono::steady_clock::now() > limit) __builtin_trap();
    f->io.run_one_for(std::chrono::milliseconds(100));
  }
  return 0;
}
