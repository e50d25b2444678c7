#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace manifold::test {

using json = nlohmann::json;
using namespace std::chrono_literals;

// A process under test on pipes, driven the way a host drives an MCP server: JSON-RPC lines
// on its stdin, replies read from its stdout with deadlines (poll, never sleeps). stderr goes
// to a file that tests can read. The process is killed when the object goes away.
class host_process {
 public:
  explicit host_process(std::vector<std::string> argv);
  host_process(const host_process&) = delete;
  host_process& operator=(const host_process&) = delete;
  ~host_process();

  void send(const json& message);
  void send_raw(const std::string& line);  // a newline is added
  void close_stdin();

  // The next message from stdout (messages stashed by wait_for_response come first).
  std::optional<json> read(std::chrono::milliseconds timeout = 10s);
  // Reads until the response with `id` arrives; other messages are kept for read().
  std::optional<json> wait_for_response(const json& id, std::chrono::milliseconds timeout = 10s);
  // Sends a request with a fresh integer id and waits for its response.
  json request(const std::string& method, json params = json::object(),
               std::chrono::milliseconds timeout = 10s);
  // initialize + notifications/initialized; returns the initialize result.
  json initialize(const std::string& version = "2025-11-25", json capabilities = json::object());

  // Puts a message back, to be read again before anything new.
  void stash(json message) { stash_.push_back(std::move(message)); }
  // Everything the process writes on stdout until it closes it (or the deadline).
  std::string read_all_raw(std::chrono::milliseconds timeout);

  // Exit status (as from waitpid) once it exits, or nullopt at the deadline.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  void kill_now(int signal);
  [[nodiscard]] pid_t pid() const { return pid_; }
  [[nodiscard]] std::string stderr_text() const;
  // Waits (inotify on the stderr file, no polling) until stderr contains `text`.
  bool wait_for_stderr(const std::string& text, std::chrono::milliseconds timeout) const;
  // The same, until stderr contains `text` at least `count` times.
  bool wait_for_stderr_count(const std::string& text, std::size_t count, std::chrono::milliseconds timeout) const;
  [[nodiscard]] std::size_t count_in_stderr(const std::string& text) const;
  [[nodiscard]] bool stdout_closed() const { return eof_; }

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int pidfd_ = -1;
  int in_ = -1;
  int out_ = -1;
  std::string stderr_path_;
  std::string buffer_;
  std::deque<json> stash_;
  bool eof_ = false;
  std::optional<int> status_;
  long next_id_ = 1000;
};

// A temporary directory removed at scope exit, for configs and pid files.
class temp_dir {
 public:
  temp_dir();
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  ~temp_dir();
  [[nodiscard]] const std::string& path() const { return path_; }
  std::string write(const std::string& name, const std::string& content) const;

 private:
  std::string path_;
};

// True while a process with this pid exists and is not a zombie.
bool process_alive(pid_t pid);
// Reads the pid a fake server wrote, waiting up to `timeout` for the file to appear.
std::optional<pid_t> read_pid_file(const std::string& path, std::chrono::milliseconds timeout);

}  // namespace manifold::test
