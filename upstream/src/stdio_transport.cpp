#include "manifold/upstream/stdio_transport.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <boost/process/v2/environment.hpp>
#include <boost/process/v2/process.hpp>
#include <spdlog/spdlog.h>
#include <stdexcept>

#include "manifold/io/event.hpp"
#include "manifold/io/pipe_channel.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/protocol/text.hpp"

extern char** environ;  // NOLINT: POSIX

namespace manifold::upstream {

namespace asio = boost::asio;
namespace bp = boost::process::v2;

namespace {

constexpr std::size_t max_stderr_line = 16 * 1024;

// Closes a file descriptor on scope exit unless released.
struct fd_guard {
  int fd = -1;
  fd_guard() = default;
  explicit fd_guard(int f) : fd(f) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  ~fd_guard() {
    if (fd >= 0) ::close(fd);
  }
  int release() { return std::exchange(fd, -1); }
};

struct pipe_pair {
  fd_guard read_end;
  fd_guard write_end;
};

pipe_pair make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe2 failed: ") + std::strerror(errno));
  }
  return {fd_guard(fds[0]), fd_guard(fds[1])};
}

// Starts `exe` with exactly `argv` and `envp` (no shell), its stdio on the given fds, in `cwd`,
// in a process group of its own (so signals reach the whole tree the server may start, e.g.
// npx -> node) and with SIGKILL as its parent-death signal (so it dies with manifold).
// Boost.Process v2's default launcher is not used because it re-registers the parent's
// epoll descriptors in the child (asio notify_fork), which fails, and then unwinds in the
// child, when manifold's stdout is a regular file. Everything between fork and exec here is
// async-signal-safe. Returns the pid; throws with the exec error otherwise.
pid_t spawn_child(const std::string& exe, const std::vector<std::string>& args,
                  const std::vector<std::string>& env, const std::string& cwd, int child_in,
                  int child_out, int child_err) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(exe.c_str()));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));  // NOLINT
  argv.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));  // NOLINT
  envp.push_back(nullptr);
  auto report = make_pipe();  // CLOEXEC: closes on a successful exec, carries errno otherwise
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // NOLINT(cppcoreguidelines-pro-type-vararg)
    if (::getppid() != parent) ::_exit(127);  // manifold died before the line above
    int err = 0;
    if (::dup2(child_in, STDIN_FILENO) < 0 || ::dup2(child_out, STDOUT_FILENO) < 0 ||
        ::dup2(child_err, STDERR_FILENO) < 0) {
      err = errno;
    } else if (!cwd.empty() && ::chdir(cwd.c_str()) != 0) {
      err = errno;
    } else {
      ::signal(SIGPIPE, SIG_DFL);  // NOLINT(cert-err33-c): restore what manifold ignores
      ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
      ::execve(exe.c_str(), argv.data(), envp.data());
      err = errno;
    }
    [[maybe_unused]] const auto n = ::write(report.write_end.fd, &err, sizeof err);
    ::_exit(127);
  }
  ::close(report.write_end.release());
  int child_errno = 0;
  ssize_t n = 0;
  do {
    n = ::read(report.read_end.fd, &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    throw std::runtime_error(std::strerror(child_errno));
  }
  return pid;
}

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
                  const config::limits_config& limits)
      : executor_(std::move(executor)), server_(server), limits_(limits) {}

  ~stdio_transport() override {
    // Never leave a child behind, whatever path led here.
    if (pid_ > 0 && !exited_->is_set()) ::kill(-pid_, SIGKILL);
  }

  asio::awaitable<std::shared_ptr<protocol::channel>> open() override {
    const auto exe = resolve_command(server_);
    if (exe.empty()) {
      throw std::runtime_error("command `" + server_.command + "` was not found on PATH");
    }
    auto in = make_pipe();
    auto out = make_pipe();
    auto err = make_pipe();
    try {
      pid_ = spawn_child(exe.string(), server_.args, child_environment(server_.env), server_.cwd,
                         in.read_end.fd, out.write_end.fd, err.write_end.fd);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot start `" + exe.string() + "`" +
                               (server_.cwd.empty() ? "" : " in " + server_.cwd) + ": " + e.what());
    }
    process_ = std::make_unique<bp::process>(executor_, pid_);
    asio::writable_pipe child_in(executor_, in.write_end.release());
    asio::readable_pipe child_out(executor_, out.read_end.release());
    asio::readable_pipe child_err(executor_, err.read_end.release());
    spdlog::info("[{}] started `{}` (pid {})", server_.name, exe.string(), pid_);
    asio::co_spawn(executor_, log_stderr(server_.name, std::move(child_err)),
                   io::log_failure("stderr reader"));
    asio::co_spawn(executor_, watch_exit(process_.get(), exited_, exit_status_, server_.name),
                   asio::detached);
    channel_ = io::make_pipe_channel(std::move(child_out), std::move(child_in),
                                     limits_.max_message_bytes,
                                     {limits_.max_queued_bytes, limits_.write_timeout});
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

  bool abort() override {
    if (pid_ <= 0 || exited_->is_set()) return false;
    ::kill(-pid_, SIGKILL);  // its stdout closes when it dies: the channel ends by itself
    return true;
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
          spdlog::info("[{}] stderr: {}", name, protocol::log_safe(line->text, max_stderr_line));
        }
      }
    }
    if (auto line = framer.finish(); line && !line->oversized) {
      spdlog::info("[{}] stderr: {}", name, protocol::log_safe(line->text, max_stderr_line));
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
  config::limits_config limits_;
  std::unique_ptr<bp::process> process_;
  std::shared_ptr<protocol::channel> channel_;
  std::shared_ptr<io::event> exited_ = std::make_shared<io::event>();
  std::shared_ptr<std::string> exit_status_ = std::make_shared<std::string>();
  int pid_ = 0;
};

}  // namespace

std::unique_ptr<transport> make_stdio_transport(asio::any_io_executor executor,
                                                const config::server_config& server,
                                                const config::limits_config& limits) {
  return std::make_unique<stdio_transport>(std::move(executor), server, limits);
}

}  // namespace manifold::upstream
