#include "manifold/upstream/exec_transport.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

#include "manifold/exec/exec_server.hpp"
#include "manifold/io/event.hpp"
#include "manifold/io/memory_channel.hpp"

namespace manifold::upstream {

namespace asio = boost::asio;

namespace {

class exec_transport final : public transport {
 public:
  exec_transport(asio::any_io_executor executor, const config::server_config& server)
      : executor_(std::move(executor)), server_(server) {}

  ~exec_transport() override {
    if (exec_) exec_->stop();
  }

  asio::awaitable<std::shared_ptr<protocol::channel>> open() override {
    auto [client, served] = io::make_channel_pair();
    exec_ = exec::make_exec_server(executor_, server_, std::move(served));
    asio::co_spawn(
        executor_,
        [server = exec_, done = done_, name = server_.name]() -> asio::awaitable<void> {
          try {
            co_await server->run();
          } catch (const std::exception& e) {
            spdlog::error("[{}] exec server failed: {}", name, e.what());
          }
          done->set();
        },
        asio::detached);
    spdlog::info("[{}] exec server started ({} tools declared)", server_.name,
                 server_.exec->tools.size());
    co_return client;
  }

  asio::awaitable<void> close(std::chrono::milliseconds budget) override {
    if (!exec_) co_return;
    exec_->stop();
    co_await done_->wait_until(std::chrono::steady_clock::now() + budget);
  }

  [[nodiscard]] std::string end_reason() const override {
    return done_->is_set() ? "exec server stopped" : std::string();
  }

 private:
  asio::any_io_executor executor_;
  config::server_config server_;
  std::shared_ptr<exec::exec_server> exec_;
  std::shared_ptr<io::event> done_ = std::make_shared<io::event>();
};

}  // namespace

std::unique_ptr<transport> make_exec_transport(asio::any_io_executor executor,
                                               const config::server_config& server) {
  return std::make_unique<exec_transport>(std::move(executor), server);
}

}  // namespace manifold::upstream
