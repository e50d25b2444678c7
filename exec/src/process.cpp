#include "manifold/exec/process.hpp"

#include <signal.h>
#include <sys/wait.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <boost/asio/write.hpp>
#include <boost/process/v2/process.hpp>
#include <cstdlib>

#include "manifold/exec/output_buffer.hpp"
#include "manifold/io/event.hpp"
#include "spawn.hpp"

namespace manifold::exec {

namespace asio = boost::asio;
namespace bp = boost::process::v2;
using clock = std::chrono::steady_clock;

namespace {

// Splits stdout into lines for a streaming caller; a line longer than `max` is cut to its
// first `max` bytes.
class line_splitter {
 public:
  line_splitter(std::size_t max, std::function<void(std::string_view)> sink)
      : max_(max), sink_(std::move(sink)) {}

  void feed(std::string_view bytes) {
    if (!sink_) return;
    while (!bytes.empty()) {
      const auto nl = bytes.find('\n');
      const auto part = bytes.substr(0, nl);
      if (line_.size() < max_) line_.append(part.substr(0, max_ - line_.size()));
      if (nl == std::string_view::npos) return;
      emit();
      bytes.remove_prefix(nl + 1);
    }
  }
  void finish() {
    if (sink_ && !line_.empty()) emit();
  }

 private:
  void emit() {
    if (!line_.empty() && line_.back() == '\r') line_.pop_back();
    sink_(line_);
    line_.clear();
  }

  std::size_t max_;
  std::function<void(std::string_view)> sink_;
  std::string line_;
};

struct run_state {
  run_state(asio::any_io_executor executor, const process_spec& spec,
            std::function<void(std::string_view)> on_line)
      : out(spec.max_stdout, spec.keep),
        err(spec.max_stderr, config::keep_part::tail),
        lines(spec.max_line, std::move(on_line)),
        out_pipe(executor),
        err_pipe(executor),
        in_pipe(executor) {}

  output_buffer out;
  output_buffer err;
  line_splitter lines;
  asio::readable_pipe out_pipe;
  asio::readable_pipe err_pipe;
  asio::writable_pipe in_pipe;
  std::unique_ptr<bp::process> process;
  pid_t pid = 0;
  int native_status = 0;
  bool cancelled = false;
  io::event exited;
  io::event wake;  // exited or cancelled
  io::event out_done;
  io::event err_done;
};

asio::awaitable<void> read_into(std::shared_ptr<run_state> st, bool is_stdout) {
  auto& pipe = is_stdout ? st->out_pipe : st->err_pipe;
  std::array<char, 16384> buf{};
  while (true) {
    auto [ec, n] =
        co_await pipe.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    if (n > 0) {
      const std::string_view chunk(buf.data(), n);
      if (is_stdout) {
        st->out.append(chunk);
        st->lines.feed(chunk);
      } else {
        st->err.append(chunk);
      }
    }
    if (ec) break;
  }
  (is_stdout ? st->out_done : st->err_done).set();
}

asio::awaitable<void> write_stdin(std::shared_ptr<run_state> st, std::string data) {
  if (!data.empty()) {
    co_await asio::async_write(st->in_pipe, asio::buffer(data),
                               asio::as_tuple(asio::use_awaitable));
  }
  boost::system::error_code ignored;
  st->in_pipe.close(ignored);
}

asio::awaitable<void> watch_exit(std::shared_ptr<run_state> st) {
  auto [ec, code] = co_await st->process->async_wait(asio::as_tuple(asio::use_awaitable));
  (void)code;
  st->native_status = ec ? 0 : st->process->native_exit_code();
  st->exited.set();
  st->wake.set();
}

// SIGTERM to the group, SIGKILL after the grace; returns once the leader is reaped or the
// second grace has passed.
asio::awaitable<void> stop_group(std::shared_ptr<run_state> st, std::chrono::milliseconds grace) {
  ::kill(-st->pid, SIGTERM);
  const bool ended = co_await st->exited.wait_until(clock::now() + grace);
  if (!ended) {
    ::kill(-st->pid, SIGKILL);
    co_await st->exited.wait_until(clock::now() + grace);
  }
}

void fill(process_outcome& out, const run_state& st) {
  if (st.exited.is_set()) {
    if (WIFSIGNALED(st.native_status)) {
      out.signal = WTERMSIG(st.native_status);
    } else if (WIFEXITED(st.native_status)) {
      out.exit_code = WEXITSTATUS(st.native_status);
    }
  }
  out.stdout_text = st.out.text();
  out.stdout_raw = st.out.kept();
  out.stdout_truncated = st.out.truncated();
  out.stdout_bytes = st.out.total();
  out.stderr_tail = st.err.kept();
}

}  // namespace

std::vector<std::string> child_environment(const config::exec_env& env) {
  std::vector<std::string> out;
  for (const auto& name : env.allow) {
    if (env.set.count(name) > 0) continue;
    if (const char* value = std::getenv(name.c_str()))
      out.push_back(name + "=" + value);  // NOLINT(concurrency-mt-unsafe)
  }
  for (const auto& [name, value] : env.set) out.push_back(name + "=" + value);
  return out;
}

asio::awaitable<process_outcome> run_process(asio::any_io_executor executor, process_spec spec,
                                             std::function<void(std::string_view)> on_line,
                                             std::shared_ptr<process_control> control) {
  process_outcome out;
  const auto started = clock::now();
  auto st = std::make_shared<run_state>(executor, spec, std::move(on_line));
  try {
    auto in = detail::make_pipe();
    auto stdout_pipe = detail::make_pipe();
    auto stderr_pipe = detail::make_pipe();
    st->pid = detail::spawn_child(spec.binary, spec.argv, spec.env, spec.cwd, in.read_end.get(),
                                  stdout_pipe.write_end.get(), stderr_pipe.write_end.get());
    st->process = std::make_unique<bp::process>(executor, st->pid);
    st->in_pipe.assign(in.write_end.release());
    st->out_pipe.assign(stdout_pipe.read_end.release());
    st->err_pipe.assign(stderr_pipe.read_end.release());
  } catch (const std::exception& e) {
    out.start_error = "cannot start " + spec.binary + ": " + e.what();
    co_return out;
  }
  asio::co_spawn(executor, write_stdin(st, spec.stdin_data.value_or(std::string())),
                 asio::detached);
  asio::co_spawn(executor, read_into(st, true), asio::detached);
  asio::co_spawn(executor, read_into(st, false), asio::detached);
  asio::co_spawn(executor, watch_exit(st), asio::detached);
  if (control) {
    std::weak_ptr<run_state> weak = st;
    control->cancel = [weak] {
      if (auto s = weak.lock()) {
        s->cancelled = true;
        s->wake.set();
      }
    };
  }
  co_await st->wake.wait_until(started + spec.timeout);
  if (!st->exited.is_set()) {
    out.cancelled = st->cancelled;
    out.timed_out = !st->cancelled;
    co_await stop_group(st, spec.kill_grace);
  }
  ::kill(-st->pid, SIGKILL);  // whatever the child left behind in its group
  const auto drain = clock::now() + spec.kill_grace;
  co_await st->out_done.wait_until(drain);
  co_await st->err_done.wait_until(drain);
  boost::system::error_code ignored;
  st->out_pipe.close(ignored);
  st->err_pipe.close(ignored);
  st->in_pipe.close(ignored);
  st->lines.finish();
  if (control) control->cancel = nullptr;
  fill(out, *st);
  out.duration = std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - started);
  co_return out;
}

}  // namespace manifold::exec
