#include "manifold/gateway/config_watcher.hpp"

#include <sys/inotify.h>
#include <unistd.h>

#include <array>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstring>
#include <filesystem>
#include <spdlog/spdlog.h>

namespace manifold::gateway {

namespace asio = boost::asio;

namespace {

// True when a batch of inotify events names `name` (parsed outside the coroutine: the event
// struct ends in a flexible array, which a coroutine frame cannot hold).
bool names_file(const char* buf, std::size_t n, const std::string& name) {
  for (std::size_t off = 0; off + sizeof(inotify_event) <= n;) {
    inotify_event event{};
    std::memcpy(&event, buf + off, sizeof event);
    const char* event_name = buf + off + sizeof(inotify_event);
    if (event.len > 0 && name == event_name) return true;
    off += sizeof(inotify_event) + event.len;
  }
  return false;
}

}  // namespace

struct config_watcher::impl {
  impl(asio::any_io_executor ex, std::string p, std::function<void()> f)
      : executor(std::move(ex)), path(std::move(p)), on_change(std::move(f)), descriptor(executor) {}
  asio::any_io_executor executor;
  std::string path;
  std::function<void()> on_change;
  asio::posix::stream_descriptor descriptor;
  bool stopped = false;
};

config_watcher::config_watcher(asio::any_io_executor executor, std::string path,
                               std::function<void()> on_change)
    : impl_(std::make_unique<impl>(std::move(executor), std::move(path), std::move(on_change))) {}

config_watcher::~config_watcher() = default;

void config_watcher::stop() {
  impl_->stopped = true;
  boost::system::error_code ignored;
  impl_->descriptor.close(ignored);
}

asio::awaitable<void> config_watcher::run() {
  auto& s = *impl_;
  const auto absolute = std::filesystem::absolute(s.path);
  const auto directory = absolute.parent_path().string();
  const auto name = absolute.filename().string();
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0 || ::inotify_add_watch(fd, directory.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_CREATE) < 0) {
    spdlog::warn("config: cannot watch {} ({}); reload with SIGHUP", s.path, std::strerror(errno));
    if (fd >= 0) ::close(fd);
    co_return;
  }
  s.descriptor.assign(fd);
  std::array<char, 8192> buf{};
  while (!s.stopped) {
    auto [ec, n] = co_await s.descriptor.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    if (!names_file(buf.data(), n, name)) continue;
    // Editors write in bursts (truncate, write, rename): let it settle, then reload once.
    asio::steady_timer settle(s.executor, std::chrono::milliseconds(150));
    co_await settle.async_wait(asio::as_tuple(asio::use_awaitable));
    if (!s.stopped) s.on_change();
  }
}

}  // namespace manifold::gateway
