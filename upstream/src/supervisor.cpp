#include "manifold/upstream/supervisor.hpp"

#include <spdlog/spdlog.h>

#include <stdexcept>

#include "manifold/io/parallel.hpp"
#include "manifold/upstream/exec_transport.hpp"
#include "manifold/upstream/http_transport.hpp"
#include "manifold/upstream/stdio_transport.hpp"

namespace manifold::upstream {

namespace asio = boost::asio;


supervisor::supervisor(asio::any_io_executor executor, const config::config& cfg)
    : executor_(std::move(executor)), limits_(cfg.limits) {
  for (const auto& server : cfg.servers) upstreams_.push_back(spawn(server));
}

std::shared_ptr<supervised_upstream> supervisor::spawn(const config::server_config& server,
                                                       std::function<std::string()> subject_token) const {
  // Each start (and restart) gets a fresh transport and session.
  session_factory fresh = [executor = executor_, server, limits = limits_, subject_token]() {
    std::unique_ptr<transport> link;
    const bool websocket = server.transport == config::transport_kind::websocket ||
                           server.url.rfind("ws://", 0) == 0 || server.url.rfind("wss://", 0) == 0;
    if (server.exec) {
      link = make_exec_transport(executor, server);
    } else if (!server.command.empty()) {
      link = make_stdio_transport(executor, server, limits);
    } else if (websocket) {
      link = make_websocket_transport(executor, server, limits);
    } else {
      link = make_http_transport(executor, server, limits, subject_token);
    }
    return make_upstream(executor, server, std::move(link), limits);
  };
  return make_supervised_upstream(executor_, server, std::move(fresh));
}

supervisor::~supervisor() = default;

asio::awaitable<void> supervisor::launch_all() {
  co_await io::parallel_for_each(upstreams_, [](std::shared_ptr<supervised_upstream>& u) -> asio::awaitable<void> {
    co_await u->launch();
  });
}

asio::awaitable<void> supervisor::start_all(json client_capabilities) {
  co_await io::parallel_for_each(
      upstreams_, [&client_capabilities](std::shared_ptr<supervised_upstream>& u) -> asio::awaitable<void> {
        co_await u->start(client_capabilities);
      });
}

asio::awaitable<void> supervisor::stop_all(std::chrono::milliseconds budget) {
  co_await io::parallel_for_each(upstreams_,
                                 [budget](std::shared_ptr<supervised_upstream>& u) -> asio::awaitable<void> {
                                   co_await u->stop(budget);
                                 });
}

std::shared_ptr<supervised_upstream> supervisor::find(std::string_view server) const {
  for (const auto& u : upstreams_) {
    if (u->name() == server) return u;
  }
  return nullptr;
}

}  // namespace manifold::upstream
