#include "manifold/gateway/config_watcher.hpp"

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <spdlog/spdlog.h>

namespace manifold::gateway {

namespace asio = boost::asio;

namespace {

constexpr std::chrono::milliseconds settle_time{150};

// What a file is now, through any symlinks; equal identities mean no change to reload for.
struct identity {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = -1;
  std::int64_t modified_ns = 0;
  bool operator==(const identity&) const = default;
};

identity identity_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return {};
  return {st.st_dev, st.st_ino, st.st_size,
          static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec};
}

}  // namespace

struct config_watcher::impl {
  impl(asio::any_io_executor ex, std::vector<std::string> p, std::function<void()> f)
      : executor(std::move(ex)), on_change(std::move(f)), descriptor(executor) {
    set_paths(std::move(p));
  }

  void set_paths(std::vector<std::string> next) {
    files.clear();
    for (auto& p : next) {
      const auto absolute = std::filesystem::absolute(p).string();
      files[absolute] = identity_of(absolute);
    }
    add_watches();
  }

  // One watch per directory (inotify folds repeats).
  void add_watches() {
    if (fd < 0) return;
    std::set<std::string> directories;
    for (const auto& [file, id] : files) directories.insert(std::filesystem::path(file).parent_path().string());
    for (const auto& dir : directories) {
      if (::inotify_add_watch(fd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE | IN_DELETE | IN_ATTRIB) < 0) {
        spdlog::warn("config: cannot watch {} ({}); reload with SIGHUP", dir, std::strerror(errno));
      }
    }
  }

  // True when a watched file is not what it was (and remembers what it is now).
  bool changed() {
    bool out = false;
    for (auto& [file, id] : files) {
      const auto now = identity_of(file);
      if (now != id) {
        id = now;
        out = true;
      }
    }
    return out;
  }

  asio::any_io_executor executor;
  std::function<void()> on_change;
  asio::posix::stream_descriptor descriptor;
  std::map<std::string, identity> files;
  int fd = -1;
  bool stopped = false;
};

config_watcher::config_watcher(asio::any_io_executor executor, std::vector<std::string> paths,
                               std::function<void()> on_change)
    : impl_(std::make_unique<impl>(std::move(executor), std::move(paths), std::move(on_change))) {}

config_watcher::~config_watcher() = default;

void config_watcher::stop() {
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->descriptor.close(ignored);
}

void config_watcher::watch(std::vector<std::string> paths) { impl_->set_paths(std::move(paths)); }

asio::awaitable<void> config_watcher::run() {
  auto& s = *impl_;
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) {
    spdlog::warn("config: cannot watch files ({}); reload with SIGHUP", std::strerror(errno));
    co_return;
  }
  s.fd = fd;
  s.add_watches();
  s.descriptor.assign(fd);
  std::array<char, 8192> buf{};
  asio::steady_timer settle(s.executor);
  while (!s.stopped) {
    auto [ec, n] = co_await s.descriptor.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    // Writers work in bursts (truncate, write, rename; kubelet's link swap): let it settle,
    // then look at what the files are now.
    settle.expires_after(settle_time);
    co_await settle.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!s.stopped && s.changed()) s.on_change();
  }
}

}  // namespace manifold::gateway
