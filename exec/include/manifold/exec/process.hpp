#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "manifold/config/exec_config.hpp"

namespace manifold::exec {

// One run of a binary: exact argv (no shell), exactly this environment, this directory.
struct process_spec {
  std::string binary;
  std::vector<std::string> argv;  // after the binary
  std::vector<std::string> env;   // NAME=value, the child's whole environment
  std::string cwd = "/";
  std::optional<std::string> stdin_data;  // none: stdin is closed at once
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};
  std::chrono::milliseconds kill_grace{std::chrono::seconds(2)};
  std::size_t max_stdout = 256 * 1024;
  config::keep_part keep = config::keep_part::head;
  std::size_t max_stderr = 16 * 1024;  // its tail is kept
  std::size_t max_line = 2048;         // for on_line
};

struct process_outcome {
  std::string start_error;  // the binary could not be started; nothing ran
  int exit_code = -1;       // when it exited
  int signal = 0;           // when a signal ended it
  bool timed_out = false;   // the deadline passed; the group was stopped
  bool cancelled = false;   // the caller cancelled; the group was stopped
  std::string stdout_text;  // capped, with a marker when cut
  std::string stdout_raw;   // the kept bytes without the marker
  bool stdout_truncated = false;
  std::size_t stdout_bytes = 0;
  std::string stderr_tail;
  std::chrono::milliseconds duration{0};
};

// Lets a caller stop a run in flight: cancel() stops the whole process group (SIGTERM,
// then SIGKILL after the grace) and the run completes as cancelled.
struct process_control {
  std::function<void()> cancel;
};

// Runs `spec` in a process group of its own that dies with manifold (PR_SET_PDEATHSIG),
// all other descriptors closed. stdin is written then closed; stdout and stderr are read
// concurrently within their caps (bytes past a cap are read and dropped). When the child
// exits, whatever else is left in its group is killed. At the deadline, or on cancel: the
// group gets SIGTERM, and SIGKILL after `kill_grace`. `on_line` (optional) sees each
// stdout line as it arrives, cut to `max_line`. Completes within timeout + 3 * kill_grace.
// Thread: the executor's.
boost::asio::awaitable<process_outcome> run_process(
    boost::asio::any_io_executor executor, process_spec spec,
    std::function<void(std::string_view line)> on_line = {},
    std::shared_ptr<process_control> control = nullptr);

// The child environment of a tool: its `allow`ed names from manifold's own environment
// (when set) and its fixed values; nothing else.
std::vector<std::string> child_environment(const config::exec_env& env);

}  // namespace manifold::exec
