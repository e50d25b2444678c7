#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>

namespace manifold::gateway {

// Calls `on_change` when the config file changes on disk (written in place, or replaced by
// an editor's rename), with bursts of events folded into one call. Linux inotify on the
// file's directory. Thread: the io thread.
class config_watcher {
 public:
  config_watcher(boost::asio::any_io_executor executor, std::string path,
                 std::function<void()> on_change);
  ~config_watcher();
  config_watcher(const config_watcher&) = delete;
  config_watcher& operator=(const config_watcher&) = delete;

  boost::asio::awaitable<void> run();
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace manifold::gateway
