#include "manifold/upstream/stdio_transport.hpp"

#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <boost/process/v2/environment.hpp>
#include <boost/process/v2/process.hpp>
#include <boost/process/v2/start_dir.hpp>
#include <boost/process/v2/stdio.hpp>
#include <spdlog/spdlog.h>
#include <stdexcept>

#include "manifold/io/event.hpp"
#include "manifold/io/pipe_channel.hpp"

extern char** environ;  // NOLINT: POSIX

namespace manifold::upstream {

namespace asio = boost::asio;
namespace bp = boost::process::v2;

namespace {

constexpr std::size_t max_stderr_line = 16 * 1024;

// Runs in the child between fork and exec: a process group of its own (so signals reach
// the whole tree the server may start, e.g. npx -> node), and death with manifold.
struct child_setup {
  template <typename Launcher>
  boost::system::error_code on_exec_setup(Launcher& /*launcher*/, const bp::filesystem::path&,
                                          const char* const* /*argv*/) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // NOLINT(cppcoreguidelines-pro-type-vararg)
    return {};
  }
};

std::vector<std::string> child_environment(const std::map<std::string, std::string>& overrides) {
  std::vector<std::string> out;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const auto name = entry.substr(0, entry.find('='));
    if (overrides.find(std::string(name)) == overrides.end()) out.emplace_back(entry);
  }
  for (const auto& [name, value] : overrides) out.push_back(name + "=" + value);
  return out;
}

bp::filesystem::path resolve_command(const config::server_config& server) {
  if (server.command.find('/') != std::string::npos) return server.command;
  // PATH from the server's own env when it sets one, else manifold's.
  if (const auto it = server.env.find("PATH"); it != server.env.end()) {
    std::string_view path = it->second;
    while (!path.empty()) {
      const auto colon = path.find(':');
      const auto dir = path.substr(0, colon);
      const auto candidate = bp::filesystem::path(std::string(dir)) / server.command;
      if (::access(candidate.c_str(), X_OK) == 0) return candidate;
      if (colon == std::string_view::npos) break;
      path.remove_prefix(colon + 1);
    }
    return {};
  }
  return bp::environment::find_executable(server.command);
}

class stdio_transport final : public transport {
 public:
  stdio_transport(asio::any_io_executor executor, const config::server_config& server,
                  std::size_t max_message_bytes)
      : executor_(std::move(executor)), server_(server), max_message_(max_message_bytes) {}

  ~stdio_transport() override {
    // Never leave a child behind, whatever path led here.
    if (pid_ > 0 && !exited_->is_set()) ::kill(-pid_, SIGKILL);
  }

  asio::awaitable<std::shared_ptr<protocol::channel>> open() override {
    const auto exe = resolve_command(server_);
    if (exe.empty()) {
      throw std::runtime_error("command `" + server_.command + "` was not found on PATH");
    }
    asio::writable_pipe child_in(executor_);
    asio::readable_pipe child_out(executor_);
    asio::readable_pipe child_err(executor_);
    const auto env = child_environment(server_.env);
    try {
      process_ = std::make_unique<bp::process>(
          executor_, exe, server_.args, bp::process_stdio{child_in, child_out, child_err},
          bp::process_environment(env),
          bp::process_start_dir(server_.cwd.empty() ? bp::filesystem::current_path()
                                                    : bp::filesystem::path(server_.cwd)),
          child_setup{});
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot start `" + exe.string() + "`: " + e.what());
    }
    pid_ = process_->id();
    spdlog::info("[{}] started `{}` (pid {})", server_.name, exe.string(), pid_);
    asio::co_spawn(executor_, log_stderr(server_.name, std::move(child_err)), asio::detached);
    asio::co_spawn(executor_, watch_exit(process_.get(), exited_, exit_status_, server_.name),
                   asio::detached);
    channel_ = io::make_pipe_channel(std::move(child_out), std::move(child_in), max_message_);
    co_return channel_;
  }

  asio::awaitable<void> close(std::chrono::milliseconds budget) override {
    if (!process_ || exited_->is_set()) co_return;
    const auto start = std::chrono::steady_clock::now();
    const auto step = budget / 3;
    if (channel_) channel_->close_outbound();  // EOF on its stdin: the polite request
    if (co_await exited_->wait_until(start + step)) co_return;
    spdlog::info("[{}] did not exit after stdin closed; sending SIGTERM", server_.name);
    ::kill(-pid_, SIGTERM);
    if (co_await exited_->wait_until(start + 2 * step)) co_return;
    spdlog::warn("[{}] did not exit after SIGTERM; sending SIGKILL", server_.name);
    ::kill(-pid_, SIGKILL);
    co_await exited_->wait_until(start + budget);
  }

  [[nodiscard]] std::string end_reason() const override {
    if (!exited_->is_set()) return {};
    return *exit_status_;
  }

 private:
  // Reads the child's stderr line by line into the log, tagged with the server name.
  static asio::awaitable<void> log_stderr(std::string name, asio::readable_pipe err) {
    protocol::line_framer framer(max_stderr_line);
    std::vector<char> buf(4096);
    while (true) {
      auto [ec, n] =
          co_await err.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      framer.append(std::string_view(buf.data(), n));
      while (auto line = framer.next()) {
        if (line->oversized) {
          spdlog::info("[{}] stderr: <{} bytes, not shown>", name, line->size);
        } else {
          spdlog::info("[{}] stderr: {}", name, line->text);
        }
      }
    }
    if (auto line = framer.finish(); line && !line->oversized) {
      spdlog::info("[{}] stderr: {}", name, line->text);
    }
  }

  // Reaps the child and records how it ended. Shared state outlives the transport.
  static asio::awaitable<void> watch_exit(bp::process* process, std::shared_ptr<io::event> exited,
                                          std::shared_ptr<std::string> status, std::string name) {
    auto [ec, code] = co_await process->async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec == asio::error::operation_aborted) co_return;
    const auto native = process->native_exit_code();
    if (WIFSIGNALED(native)) {
      *status = "killed by signal " + std::to_string(WTERMSIG(native));
    } else {
      *status = "exited with status " + std::to_string(code);
    }
    spdlog::info("[{}] process {}", name, *status);
    exited->set();
  }

  asio::any_io_executor executor_;
  config::server_config server_;
  std::size_t max_message_;
  std::unique_ptr<bp::process> process_;
  std::shared_ptr<protocol::channel> channel_;
  std::shared_ptr<io::event> exited_ = std::make_shared<io::event>();
  std::shared_ptr<std::string> exit_status_ = std::make_shared<std::string>();
  int pid_ = 0;
};

}  // namespace

std::unique_ptr<transport> make_stdio_transport(asio::any_io_executor executor,
                                                const config::server_config& server,
                                                std::size_t max_message_bytes) {
  return std::make_unique<stdio_transport>(std::move(executor), server, max_message_bytes);
}

}  // namespace manifold::upstream
