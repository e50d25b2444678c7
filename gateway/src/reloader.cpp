#include "manifold/gateway/reloader.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <csignal>
#include <spdlog/spdlog.h>

#include "manifold/config/config_error.hpp"
#include "manifold/config/config_loader.hpp"
#include "manifold/gateway/config_watcher.hpp"
#include "manifold/gateway/gateway.hpp"
#include "manifold/io/spawn.hpp"

namespace manifold::gateway {

namespace asio = boost::asio;

struct reloader::state : std::enable_shared_from_this<reloader::state> {
  state(asio::any_io_executor ex, backend& b, std::string p)
      : executor(ex), target(b), path(std::move(p)), hangup(ex, SIGHUP),
        watcher(ex, watched_files(path), [this] { request(); }) {}

  // The config file, the packs it includes and the key files it reads.
  static std::vector<std::string> watched_files(const std::string& config_path) {
    std::vector<std::string> out{config_path};
    try {
      auto cfg = config::load_config_file(config_path);
      for (auto& pack : cfg.included) out.push_back(std::move(pack));
      for (auto& file : cfg.key_files) out.push_back(std::move(file));
    } catch (const std::exception&) {
      // An invalid config is reported by whoever loaded it; watching it alone is right then.
    }
    return out;
  }

  void wait_hangup() {
    hangup.async_wait([weak = weak_from_this()](const boost::system::error_code& ec, int) {
      auto self = weak.lock();
      if (ec || !self || self->stopped) return;
      spdlog::info("SIGHUP: reloading {}", self->path);
      self->request();
      self->wait_hangup();
    });
  }

  void request() {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    asio::co_spawn(executor, apply(shared_from_this()), io::log_failure("reload"));
  }

  static asio::awaitable<void> apply(std::shared_ptr<state> self) {
    do {
      self->again = false;
      try {
        auto next = config::load_config_file(self->path);
        std::vector<std::string> files{self->path};
        files.insert(files.end(), next.included.begin(), next.included.end());
        files.insert(files.end(), next.key_files.begin(), next.key_files.end());
        if (!self->faults_path.empty()) {
          auto extra = config::load_faults_file(self->faults_path);
          next.faults.insert(next.faults.end(), extra.begin(), extra.end());
          files.push_back(self->faults_path);
        }
        self->watcher.watch(std::move(files));
        if (self->loaded) self->loaded(next);
        co_await self->target.reload(std::move(next));
      } catch (const config::config_error& e) {
        spdlog::error("reload: {} is invalid; the running config stays:", self->path);
        for (const auto& d : e.diagnostics()) spdlog::error("  {}", d.to_string());
      } catch (const std::exception& e) {
        spdlog::error("reload of {} failed: {}; the running config stays", self->path, e.what());
      }
    } while (self->again && !self->stopped);
    self->running = false;
  }

  asio::any_io_executor executor;
  backend& target;
  std::string path;
  asio::signal_set hangup;
  config_watcher watcher;
  std::function<void(const config::config&)> loaded;
  std::string faults_path;
  bool running = false;
  bool again = false;
  bool stopped = false;
};

reloader::reloader(asio::any_io_executor executor, backend& target, std::string path)
    : state_(std::make_shared<state>(std::move(executor), target, std::move(path))) {}

reloader::~reloader() { stop(); }

void reloader::start() {
  state_->wait_hangup();
  asio::co_spawn(state_->executor, state_->watcher.run(), io::log_failure("config watcher"));
}

void reloader::stop() {
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->hangup.cancel(ignored);
  state_->watcher.stop();
}

void reloader::request() { state_->request(); }

void reloader::set_faults_file(std::string path) {
  state_->faults_path = std::move(path);
  if (state_->faults_path.empty()) return;
  auto files = state::watched_files(state_->path);
  files.push_back(state_->faults_path);
  state_->watcher.watch(std::move(files));
}

void reloader::on_loaded(std::function<void(const config::config&)> handler) {
  state_->loaded = std::move(handler);
}

}  // namespace manifold::gateway
