#pragma once

// Shared by the exec unit tests: configs built from YAML with the fixture binary, and a
// client that drives an exec server over an in-process channel pair.

#include <poll.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "manifold/config/config_loader.hpp"
#include "manifold/exec/exec_server.hpp"
#include "manifold/io/memory_channel.hpp"
#include "manifold/protocol/json_rpc.hpp"

namespace manifold::exec::test {

using json = nlohmann::json;
namespace asio = boost::asio;

inline std::string fixture() { return EXEC_FIXTURE_BIN; }

// A scratch directory removed at the end of the test.
struct scratch {
  std::filesystem::path dir;
  scratch() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "manifold-exec-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
  }
  ~scratch() { std::filesystem::remove_all(dir); }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  [[nodiscard]] std::string path(const std::string& name) const { return (dir / name).string(); }
  [[nodiscard]] std::string read(const std::string& name) const {
    std::ifstream in(path(name));
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
  }
  [[nodiscard]] bool exists(const std::string& name) const {
    return std::filesystem::exists(path(name));
  }
};

inline std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

// The first server of `yaml` (a whole config), `@FIXTURE@` replaced by the fixture binary.
inline config::server_config server_from(const std::string& yaml) {
  auto cfg = config::parse_config(
      replace_all(yaml, "@FIXTURE@", fixture()), "test.yaml",
      [](const std::string&) -> std::optional<std::string> { return std::nullopt; });
  return cfg.servers.at(0);
}

// Drives one exec server like a host would, with every wait bounded.
class client {
 public:
  // On its own io_context, or on `io` (to share the thread with a fake server).
  explicit client(const config::server_config& server) : client(server, own_) {}
  client(const config::server_config& server, asio::io_context& io) : io_(io) {
    auto [c, s] = io::make_channel_pair();
    link_ = c;
    server_ = make_exec_server(io_.get_executor(), server, s);
    asio::co_spawn(io_, server_->run(),
                   [done = done_](const std::exception_ptr&) { *done = true; });
    asio::co_spawn(io_, read_all(), [read = read_done_](const std::exception_ptr&) { *read = true; });
  }
  // The reader ends here too: a frame left suspended on the channel would outlive it (and,
  // with a shared io_context, this client).
  ~client() {
    server_->stop();
    run_until([this] { return *done_; }, std::chrono::seconds(10));
    link_->close();
    run_until([this] { return *read_done_; }, std::chrono::seconds(10));
  }
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  void send(const json& message) { link_->send(protocol::serialize(message)); }
  std::int64_t send_request(const std::string& method, json params) {
    const auto id = next_id_++;
    send(protocol::make_request(id, method, std::move(params)));
    return id;
  }
  // Sends a request and runs until its reply (null after `within`).
  json request(const std::string& method, json params,
               std::chrono::milliseconds within = std::chrono::seconds(30)) {
    return wait_reply(send_request(method, std::move(params)), within);
  }
  json wait_reply(std::int64_t id, std::chrono::milliseconds within = std::chrono::seconds(30)) {
    json out;
    run_until([&] { return take(id, out); }, within);
    return out;
  }
  json call(const std::string& tool, json arguments, json meta = nullptr) {
    json params{{"name", tool}, {"arguments", std::move(arguments)}};
    if (!meta.is_null()) params["_meta"] = std::move(meta);
    return request("tools/call", std::move(params));
  }
  // Runs the io loop until `pred()` holds or `within` passes; returns pred().
  template <typename Pred>
  bool run_until(Pred pred, std::chrono::milliseconds within = std::chrono::seconds(20)) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (!pred() && std::chrono::steady_clock::now() < deadline) {
      io_.run_one_for(std::chrono::milliseconds(20));
    }
    return pred();
  }

  exec_server& server() { return *server_; }
  std::vector<json> notifications;
  std::vector<json> replies;

 private:
  bool take(std::int64_t id, json& out) {
    for (auto it = replies.begin(); it != replies.end(); ++it) {
      if ((*it)["id"] == id) {
        out = std::move(*it);
        replies.erase(it);
        return true;
      }
    }
    return false;
  }
  asio::awaitable<void> read_all() {
    while (auto frame = co_await link_->receive()) {
      auto message = json::parse(frame->text);
      (message.contains("id") ? replies : notifications).push_back(std::move(message));
    }
  }

  asio::io_context own_;
  asio::io_context& io_;
  std::shared_ptr<protocol::channel> link_;
  std::shared_ptr<exec_server> server_;
  std::int64_t next_id_ = 1;
  std::shared_ptr<bool> done_ = std::make_shared<bool>(false);
  std::shared_ptr<bool> read_done_ = std::make_shared<bool>(false);
};

inline std::string text_of(const json& reply) {
  std::string out;
  for (const auto& c : reply["result"]["content"]) out += c.value("text", "") + "\n";
  return out;
}

inline bool is_error(const json& reply) { return reply["result"].value("isError", false); }

// Whether the process `pid` is gone (or a zombie waiting for its reaper).
inline bool process_gone(long pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() &&
         (line[close + 2] == 'Z' || line[close + 2] == 'X');
}

// Waits (up to `within`) for `pid` to exit, on a pidfd: an event, not a poll loop.
inline bool wait_gone(long pid, std::chrono::milliseconds within = std::chrono::seconds(5)) {
  const auto fd = static_cast<int>(::syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0U));
  if (fd < 0) return true;  // no such process
  pollfd p{fd, POLLIN, 0};
  const int n = ::poll(&p, 1, static_cast<int>(within.count()));
  ::close(fd);
  return n > 0 || process_gone(pid);
}

}  // namespace manifold::exec::test
