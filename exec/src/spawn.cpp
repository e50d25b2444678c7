#include "spawn.hpp"

#include <fcntl.h>
#include <linux/close_range.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace manifold::exec::detail {

fd_guard& fd_guard::operator=(fd_guard&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.release();
  }
  return *this;
}

fd_guard::~fd_guard() {
  if (fd_ >= 0) ::close(fd_);
}

pipe_pair make_pipe() {
  std::array<int, 2> fds{};
  if (::pipe2(fds.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error(std::string("pipe2 failed: ") + std::strerror(errno));
  }
  return {fd_guard(fds[0]), fd_guard(fds[1])};
}

pid_t spawn_child(const std::string& binary, const std::vector<std::string>& argv,
                  const std::vector<std::string>& env, const std::string& cwd, int child_in,
                  int child_out, int child_err) {
  std::vector<char*> args;
  args.push_back(
      const_cast<char*>(binary.c_str()));  // NOLINT(cppcoreguidelines-pro-type-const-cast)
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));  // NOLINT
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));  // NOLINT
  envp.push_back(nullptr);
  auto report = make_pipe();  // closes on a successful exec, carries errno otherwise
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error(std::string("fork failed: ") + std::strerror(errno));
  if (pid == 0) {
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);       // NOLINT(cppcoreguidelines-pro-type-vararg)
    if (::getppid() != parent) ::_exit(127);  // manifold died before the line above
    int err = 0;
    if (::dup2(child_in, STDIN_FILENO) < 0 || ::dup2(child_out, STDOUT_FILENO) < 0 ||
        ::dup2(child_err, STDERR_FILENO) < 0) {
      err = errno;
    } else if (::chdir(cwd.c_str()) != 0) {
      err = errno;
    } else {
      ::signal(SIGPIPE, SIG_DFL);  // NOLINT(cert-err33-c): restore what manifold ignores
      sigset_t none;
      ::sigemptyset(&none);
      ::sigprocmask(SIG_SETMASK, &none, nullptr);
      ::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC);
      ::execve(binary.c_str(), args.data(), envp.data());
      err = errno;
    }
    [[maybe_unused]] const auto n = ::write(report.write_end.get(), &err, sizeof err);
    ::_exit(127);
  }
  // Both sides set the group, so that a signal sent right after this returns reaches it.
  ::setpgid(pid, pid);
  ::close(report.write_end.release());
  int child_errno = 0;
  ssize_t n = 0;
  do {
    n = ::read(report.read_end.get(), &child_errno, sizeof child_errno);
  } while (n < 0 && errno == EINTR);
  if (n > 0) {
    int status = 0;
    ::waitpid(pid, &status, 0);
    throw std::runtime_error(std::strerror(child_errno));
  }
  return pid;
}

}  // namespace manifold::exec::detail
