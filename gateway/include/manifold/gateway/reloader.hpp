#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <functional>

#include "manifold/config/config.hpp"
#include <memory>
#include <string>

namespace manifold::gateway {

class backend;

// Reloads on SIGHUP and when the config file changes: the new config is validated first (a
// bad one is logged with its errors and the running one keeps serving), then applied by the
// backend. Reloads never overlap; one that arrives during another runs after it. A reload
// that fails for any reason is logged and later reloads still run. Thread: the io thread.
class reloader {
 public:
  reloader(boost::asio::any_io_executor executor, backend& target, std::string path);
  ~reloader();
  reloader(const reloader&) = delete;
  reloader& operator=(const reloader&) = delete;

  void start();
  void stop();
  // Reloads now (or after the reload in progress).
  void request();
  // Called with each valid new config before the backend applies it (settings outside the
  // backend, such as the listener's TLS certificate).
  void on_loaded(std::function<void(const config::config&)> handler);
  // `serve --faults FILE`: its faults are added to the config's on every reload, and a change
  // to it reloads too (a drill started or stopped on a running manifold). Before start().
  void set_faults_file(std::string path);

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace manifold::gateway
