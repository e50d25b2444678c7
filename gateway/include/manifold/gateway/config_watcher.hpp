#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace manifold::gateway {

// Calls `on_change` when any watched file changes on disk: written in place, replaced by an
// editor's rename, or swapped underneath by a symlink (a Kubernetes ConfigMap volume renames
// its `..data` link). Every event in a watched file's directory re-reads the files' identity
// (device, inode, size, modification time, following symlinks); a change in any of them, after
// a short settling time that folds bursts into one call, triggers it. Linux inotify.
// Thread: the io thread.
class config_watcher {
 public:
  config_watcher(boost::asio::any_io_executor executor, std::vector<std::string> paths,
                 std::function<void()> on_change);
  ~config_watcher();
  config_watcher(const config_watcher&) = delete;
  config_watcher& operator=(const config_watcher&) = delete;

  boost::asio::awaitable<void> run();
  void stop();
  // Watches these files from now on instead (a reload may include other packs).
  void watch(std::vector<std::string> paths);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace manifold::gateway
