// run_process with the fixture binary: exact argv and env, caps, deadlines, process groups.
#include "manifold/exec/process.hpp"

#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include "exec_test_support.hpp"

namespace manifold::exec {
namespace {

namespace asio = boost::asio;
using json = nlohmann::json;

using test::fixture;
using test::scratch;

process_outcome run(process_spec spec, std::function<void(std::string_view)> on_line = {},
                    std::shared_ptr<process_control> control = nullptr) {
  asio::io_context io;
  process_outcome out;
  bool done = false;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        out = co_await run_process(io.get_executor(), std::move(spec), std::move(on_line), control);
        done = true;
      },
      asio::detached);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!done && std::chrono::steady_clock::now() < deadline)
    io.run_one_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(done);
  return out;
}

process_spec spec(std::vector<std::string> argv) {
  process_spec s;
  s.binary = fixture();
  s.argv = std::move(argv);
  s.env = {"PATH=/usr/bin:/bin"};
  s.timeout = std::chrono::seconds(10);
  s.kill_grace = std::chrono::milliseconds(500);
  return s;
}

TEST(exec_process, passes_exact_argv_and_stdin_without_a_shell) {
  auto s = spec({"record", "a b", "$(id)", "; rm -rf /", "`id`", ""});
  s.stdin_data = std::string("line 1\nline 2\n");
  const auto out = run(s);
  EXPECT_EQ(out.exit_code, 0);
  const auto recorded = json::parse(out.stdout_raw);
  EXPECT_EQ(recorded["argv"], json::array({"a b", "$(id)", "; rm -rf /", "`id`", ""}));
  EXPECT_EQ(recorded["stdin"], "line 1\nline 2\n");
}

TEST(exec_process, the_environment_is_exactly_the_declared_one) {
  ::setenv("MANIFOLD_TEST_SECRET", "s3cret", 1);
  ::setenv("MANIFOLD_TEST_ALLOWED", "yes", 1);
  config::exec_env env;
  env.allow = {"MANIFOLD_TEST_ALLOWED", "MANIFOLD_TEST_UNSET"};
  env.set = {{"PATH", "/usr/bin:/bin"}, {"KUBECONFIG", "/etc/manifold/kubeconfig"}};
  auto s = spec({"env"});
  s.env = child_environment(env);
  const auto out = run(s);
  EXPECT_EQ(out.stdout_raw,
            "MANIFOLD_TEST_ALLOWED=yes\nKUBECONFIG=/etc/manifold/kubeconfig\nPATH=/usr/bin:/bin\n");
}

TEST(exec_process, output_over_the_cap_is_cut_with_a_marker) {
  auto s = spec({"flood", "100000"});
  s.max_stdout = 1000;
  const auto out = run(s);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_TRUE(out.stdout_truncated);
  EXPECT_EQ(out.stdout_bytes, 100000U);
  EXPECT_EQ(out.stdout_raw.size(), 1000U);
  EXPECT_NE(
      out.stdout_text.find("[manifold: output truncated: kept the first 1000 of 100000 bytes]"),
      std::string::npos);
  s.keep = config::keep_part::tail;
  const auto tail = run(s);
  EXPECT_EQ(tail.stdout_text.rfind(
                "[manifold: output truncated: kept the last 1000 of 100000 bytes]\n", 0),
            0U);
}

TEST(exec_process, timeout_kills_the_whole_process_group) {
  scratch dir;
  auto s = spec({"fork-wait"});
  s.env.push_back("PID_FILE=" + dir.path("pids"));
  s.timeout = std::chrono::milliseconds(700);
  const auto out = run(s);
  EXPECT_TRUE(out.timed_out);
  EXPECT_EQ(out.signal, SIGTERM);
  std::istringstream pids(dir.read("pids"));
  long pid = 0;
  int count = 0;
  while (pids >> pid) {
    ++count;
    // SIGTERM went to the whole group before run_process returned.
    EXPECT_TRUE(test::wait_gone(pid)) << pid;
  }
  EXPECT_EQ(count, 2);
}

TEST(exec_process, leftovers_of_a_finished_child_are_killed) {
  scratch dir;
  auto s = spec({"fork-exit"});
  s.env.push_back("PID_FILE=" + dir.path("pids"));
  const auto out = run(s);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_FALSE(out.timed_out);
  EXPECT_LT(out.duration, std::chrono::seconds(5));
  const auto pid = std::stol(dir.read("pids"));
  EXPECT_TRUE(test::wait_gone(pid));
}

TEST(exec_process, sigterm_is_followed_by_sigkill) {
  auto s = spec({"ignore-term"});
  s.timeout = std::chrono::milliseconds(300);
  s.kill_grace = std::chrono::milliseconds(300);
  const auto out = run(s);
  EXPECT_TRUE(out.timed_out);
  EXPECT_EQ(out.signal, SIGKILL);
}

TEST(exec_process, lines_stream_and_cancel_stops_the_group) {
  auto control = std::make_shared<process_control>();
  std::vector<std::string> lines;
  auto s = spec({"lines-wait", "3"});
  const auto out = run(
      s,
      [&](std::string_view l) {
        lines.emplace_back(l);
        if (lines.size() == 3) control->cancel();
      },
      control);
  EXPECT_TRUE(out.cancelled);
  EXPECT_EQ(lines, (std::vector<std::string>{"line 1", "line 2", "line 3"}));
  EXPECT_EQ(out.stdout_raw, "line 1\nline 2\nline 3\n");
}

TEST(exec_process, a_missing_binary_is_a_start_error) {
  auto s = spec({});
  s.binary = "/nonexistent/tool";
  const auto out = run(s);
  EXPECT_NE(out.start_error.find("No such file"), std::string::npos) << out.start_error;
  auto bad_cwd = spec({"print", "x"});
  bad_cwd.cwd = "/nonexistent-dir";
  EXPECT_FALSE(run(bad_cwd).start_error.empty());
}

}  // namespace
}  // namespace manifold::exec
