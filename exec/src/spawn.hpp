#pragma once

// Private to exec/: starting a child process safely.

#include <sys/types.h>

#include <string>
#include <utility>
#include <vector>

namespace manifold::exec::detail {

// Closes a file descriptor on scope exit unless released.
class fd_guard {
 public:
  fd_guard() = default;
  explicit fd_guard(int fd) : fd_(fd) {}
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  fd_guard(fd_guard&& other) noexcept : fd_(other.release()) {}
  fd_guard& operator=(fd_guard&& other) noexcept;
  ~fd_guard();
  [[nodiscard]] int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_ = -1;
};

struct pipe_pair {
  fd_guard read_end;
  fd_guard write_end;
};

// A close-on-exec pipe. Throws std::runtime_error.
pipe_pair make_pipe();

// Starts `binary` with exactly `argv` (after argv[0] = binary) and `env` (no shell, no PATH
// search), stdio on the given descriptors, in `cwd`, as the leader of a new process group,
// with SIGKILL as its parent-death signal and every other descriptor closed. Everything
// between fork and exec is async-signal-safe. Returns the pid; throws std::runtime_error
// with the exec error (nothing ran) otherwise.
pid_t spawn_child(const std::string& binary, const std::vector<std::string>& argv,
                  const std::vector<std::string>& env, const std::string& cwd, int child_in,
                  int child_out, int child_err);

}  // namespace manifold::exec::detail
