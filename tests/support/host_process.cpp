#include "host_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace manifold::test {

namespace {

using clock = std::chrono::steady_clock;

int remaining_ms(clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
  return static_cast<int>(std::max<long>(0, left.count()));
}

}  // namespace

host_process::host_process(std::vector<std::string> argv) {
  std::array<int, 2> in{};
  std::array<int, 2> out{};
  if (::pipe2(in.data(), O_CLOEXEC) != 0 || ::pipe2(out.data(), O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  char tmpl[] = "/tmp/manifold-test-stderr-XXXXXX";
  const int err = ::mkstemp(tmpl);
  if (err < 0) throw std::runtime_error("mkstemp failed");
  stderr_path_ = tmpl;

  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::dup2(in[0], STDIN_FILENO);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(err, STDERR_FILENO);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  ::close(in[0]);
  ::close(out[1]);
  ::close(err);
  in_ = in[1];
  out_ = out[0];
  pidfd_ = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
}

host_process::~host_process() {
  if (!status_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    wait_exit(5s);
  }
  if (in_ >= 0) ::close(in_);
  if (out_ >= 0) ::close(out_);
  if (pidfd_ >= 0) ::close(pidfd_);
  std::filesystem::remove(stderr_path_);
}

void host_process::send(const json& message) { send_raw(message.dump()); }

void host_process::send_raw(const std::string& line) {
  const std::string data = line + "\n";
  std::size_t done = 0;
  while (done < data.size()) {
    const auto n = ::write(in_, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("write to process failed: ") + std::strerror(errno));
    }
    done += static_cast<std::size_t>(n);
  }
}

void host_process::close_stdin() {
  if (in_ >= 0) ::close(in_);
  in_ = -1;
}

bool host_process::fill(clock::time_point deadline) {
  if (eof_) return false;
  pollfd p{out_, POLLIN, 0};
  const int r = ::poll(&p, 1, remaining_ms(deadline));
  if (r <= 0) return false;
  std::array<char, 65536> buf{};
  const auto n = ::read(out_, buf.data(), buf.size());
  if (n <= 0) {
    eof_ = true;
    return false;
  }
  buffer_.append(buf.data(), static_cast<std::size_t>(n));
  return true;
}

std::optional<json> host_process::read(std::chrono::milliseconds timeout) {
  if (!stash_.empty()) {
    auto m = std::move(stash_.front());
    stash_.pop_front();
    return m;
  }
  const auto deadline = clock::now() + timeout;
  while (true) {
    const auto nl = buffer_.find('\n');
    if (nl != std::string::npos) {
      const auto line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      auto parsed = json::parse(line, nullptr, false);
      if (parsed.is_discarded()) {
        throw std::runtime_error("process wrote a non-JSON line on stdout: " + line);
      }
      return parsed;
    }
    if (!fill(deadline)) return std::nullopt;
  }
}

std::string host_process::read_all_raw(std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  while (fill(deadline)) {
  }
  return std::exchange(buffer_, {});
}

std::optional<json> host_process::wait_for_response(const json& id,
                                                    std::chrono::milliseconds timeout) {
  for (auto it = stash_.begin(); it != stash_.end(); ++it) {
    if (it->contains("id") && (*it)["id"] == id && !it->contains("method")) {
      auto m = std::move(*it);
      stash_.erase(it);
      return m;
    }
  }
  const auto deadline = clock::now() + timeout;
  std::deque<json> saved;
  std::swap(saved, stash_);
  std::optional<json> found;
  while (!found) {
    auto m = read(std::chrono::milliseconds(remaining_ms(deadline)));
    if (!m) break;
    if (m->contains("id") && (*m)["id"] == id && !m->contains("method")) {
      found = std::move(m);
    } else {
      saved.push_back(std::move(*m));
    }
  }
  std::swap(saved, stash_);
  for (auto& m : saved) stash_.push_back(std::move(m));
  return found;
}

json host_process::request(const std::string& method, json params,
                           std::chrono::milliseconds timeout) {
  const auto id = next_id_++;
  send({{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", std::move(params)}});
  auto reply = wait_for_response(id, timeout);
  if (!reply) throw std::runtime_error("no response to " + method + " in time");
  return *reply;
}

json host_process::initialize(const std::string& version, json capabilities) {
  auto reply = request("initialize", {{"protocolVersion", version},
                                      {"capabilities", std::move(capabilities)},
                                      {"clientInfo", {{"name", "test-host"}, {"version", "1"}}}},
                       30s);
  send({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  return reply;
}

std::optional<int> host_process::wait_exit(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  pollfd p{pidfd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
  int status = 0;
  if (::waitpid(pid_, &status, 0) == pid_) status_ = status;
  return status_;
}

void host_process::kill_now(int signal) { ::kill(pid_, signal); }

std::string host_process::stderr_text() const {
  std::ifstream in(stderr_path_);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

bool host_process::wait_for_stderr(const std::string& text, std::chrono::milliseconds timeout) const {
  return wait_for_stderr_count(text, 1, timeout);
}

std::size_t host_process::count_in_stderr(const std::string& text) const {
  const auto all = stderr_text();
  std::size_t n = 0;
  for (auto at = all.find(text); at != std::string::npos; at = all.find(text, at + text.size())) ++n;
  return n;
}

bool host_process::wait_for_stderr_count(const std::string& text, std::size_t count,
                                         std::chrono::milliseconds timeout) const {
  const auto deadline = clock::now() + timeout;
  const int fd = ::inotify_init1(IN_CLOEXEC);
  ::inotify_add_watch(fd, stderr_path_.c_str(), IN_MODIFY);
  bool found = false;
  while (!(found = count_in_stderr(text) >= count)) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) break;
    std::array<char, 4096> buf{};
    [[maybe_unused]] const auto n = ::read(fd, buf.data(), buf.size());
  }
  ::close(fd);
  return found;
}

temp_dir::temp_dir() {
  char tmpl[] = "/tmp/manifold-test-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

temp_dir::~temp_dir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

std::string temp_dir::write(const std::string& name, const std::string& content) const {
  const auto file = path_ + "/" + name;
  std::ofstream(file) << content;
  return file;
}

bool process_alive(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return false;
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && close + 2 < line.size() && line[close + 2] != 'Z';
}

std::optional<pid_t> read_pid_file(const std::string& path, std::chrono::milliseconds timeout) {
  const auto deadline = clock::now() + timeout;
  const auto dir = std::filesystem::path(path).parent_path().string();
  const int fd = ::inotify_init1(IN_CLOEXEC);
  ::inotify_add_watch(fd, dir.c_str(), IN_MOVED_TO | IN_CLOSE_WRITE);
  std::optional<pid_t> out;
  while (true) {
    std::ifstream in(path);
    long pid = 0;
    if (in >> pid && pid > 0) {
      out = static_cast<pid_t>(pid);
      break;
    }
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, remaining_ms(deadline)) <= 0) break;
    std::array<char, 4096> buf{};
    [[maybe_unused]] const auto n = ::read(fd, buf.data(), buf.size());
  }
  ::close(fd);
  return out;
}

}  // namespace manifold::test
