// Supervision: upstreams that crash come back (tools withdrawn and re-advertised), crash
// loops stop, breakers open and close, failed health probes restart, lazy start and idle
// stop, a host's initialize never waits for a bad upstream, retries only when safe,
// per-tool deadlines, and no child outliving manifold. Driven over stdio like a host, in
// front of the in-tree fake server; every wait is on an event (a message or a log line).
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "serve_fixture.hpp"

namespace manifold::test {
namespace {

using supervision_test = serve_fixture;
using clock = std::chrono::steady_clock;

// Quick restarts and no periodic probes, for servers that are crashed on purpose.
const std::string quick_restart =
    "    restart: {backoff: 20ms, max_backoff: 100ms}\n"
    "    health: false\n";

// Reads messages until a notification `method` arrives (others are dropped).
bool wait_for_notification(host_process& h, const std::string& method,
                           std::chrono::milliseconds timeout = 20s) {
  const auto deadline = clock::now() + timeout;
  while (clock::now() < deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
    const auto m = h.read(left);
    if (!m) return false;
    if (m->value("method", "") == method) return true;
  }
  return false;
}

std::set<std::string> tool_names(host_process& h) {
  std::set<std::string> out;
  const auto list = h.request("tools/list");
  for (const auto& t : list["result"]["tools"]) out.insert(t["name"].get<std::string>());
  return out;
}

// Waits (pidfd, no polling) until `pid` has exited.
void wait_gone(pid_t pid, std::chrono::milliseconds timeout = 5s) {
  const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
  if (fd < 0) return;
  pollfd p{fd, POLLIN, 0};
  ::poll(&p, 1, static_cast<int>(timeout.count()));
  ::close(fd);
}

TEST_F(supervision_test, a_crashed_upstream_restarts_and_its_tools_come_back_with_list_changed) {
  auto& h = start({{"fragile", {}, quick_restart}, {"solid", {}}});
  h.initialize();
  ASSERT_TRUE(tool_names(h).count("fragile__echo"));
  // A call in flight when the process dies ends at once with a clean error, not a timeout.
  h.send({{"jsonrpc", "2.0"},
          {"id", "pending"},
          {"method", "tools/call"},
          {"params", {{"name", "fragile__slow"}, {"arguments", {{"ms", 60000}}}}}});
  h.send({{"jsonrpc", "2.0"},
          {"id", "crash"},
          {"method", "tools/call"},
          {"params", {{"name", "fragile__crash"}, {"arguments", json::object()}}}});
  const auto pending = h.wait_for_response("pending", 20s);
  ASSERT_TRUE(pending);
  EXPECT_EQ((*pending)["error"]["code"], -32000) << pending->dump();
  const auto message = (*pending)["error"]["message"].get<std::string>();
  EXPECT_NE(message.find("outcome is unknown"), std::string::npos) << message;
  EXPECT_EQ((*pending)["error"]["data"]["outcome"], "unknown");
  // Withdrawn, then back: two list_changed.
  ASSERT_TRUE(wait_for_notification(h, "notifications/tools/list_changed"));
  ASSERT_TRUE(wait_for_notification(h, "notifications/tools/list_changed"));
  EXPECT_TRUE(h.wait_for_stderr("[fragile] starting -> ready: back after restart 1", 10s))
      << h.stderr_text();
  EXPECT_NE(h.stderr_text().find("its entries are withdrawn until it is back (on_down: hide)"),
            std::string::npos);
  EXPECT_TRUE(tool_names(h).count("fragile__echo"));
  EXPECT_EQ(text_of(call(h, "fragile__echo", {{"text", "again"}})), "again");
  EXPECT_EQ(text_of(call(h, "solid__echo", {{"text", "untouched"}})), "untouched");
}

TEST_F(supervision_test, a_crash_loop_stops_at_the_limit_until_a_reload) {
  auto& h = start(
      {{"doomed",
        {"--exit-at-start", "3"},
        "    restart: {backoff: 10ms, max_backoff: 20ms, max_restarts: 2}\n    health: false\n"},
       {"good", {}}});
  h.initialize();
  ASSERT_TRUE(h.wait_for_stderr("restart.max_restarts); down until a reload", 20s))
      << h.stderr_text();
  EXPECT_EQ(h.count_in_stderr("[doomed] starting -> backing-off"), 2U) << h.stderr_text();
  EXPECT_NE(h.stderr_text().find("[doomed] starting -> failed"), std::string::npos);
  EXPECT_EQ(call(h, "doomed__echo")["error"]["code"], -32602);  // never listed
  // SIGHUP reloads the config, which tries a failed upstream again.
  h.kill_now(SIGHUP);
  ASSERT_TRUE(h.wait_for_stderr("[doomed] retrying after the config was reloaded", 20s))
      << h.stderr_text();
  EXPECT_EQ(text_of(call(h, "good__echo", {{"text", "fine"}})), "fine");
}

TEST_F(supervision_test, an_upstream_that_fails_initialize_twice_joins_when_it_succeeds) {
  const auto state = dir_.path() + "/late.lives";
  auto& h = start(
      {{"late", {"--fail-initialize", "2", "--state-file", state}, quick_restart}, {"good", {}}});
  h.initialize();
  ASSERT_TRUE(wait_for_notification(h, "notifications/tools/list_changed"));
  EXPECT_TRUE(tool_names(h).count("late__echo"));
  EXPECT_EQ(text_of(call(h, "late__echo", {{"text", "third time"}})), "third time");
  EXPECT_EQ(h.count_in_stderr("failing initialize in life"), 2U) << h.stderr_text();
}

TEST_F(supervision_test, on_down_error_keeps_the_tools_and_answers_temporarily_unavailable) {
  auto& h = start(
      {{"kept",
        {},
        "    on_down: error\n    restart: {backoff: 1h, max_backoff: 1h}\n    health: false\n"}});
  h.initialize();
  EXPECT_EQ(call(h, "kept__crash")["error"]["code"], -32000);
  ASSERT_TRUE(h.wait_for_stderr("[kept] ready -> backing-off", 10s)) << h.stderr_text();
  EXPECT_TRUE(tool_names(h).count("kept__echo"));
  const auto reply = call(h, "kept__echo");
  ASSERT_TRUE(reply.contains("error")) << reply.dump();
  EXPECT_EQ(reply["error"]["code"], -32000);
  const auto message = reply["error"]["message"].get<std::string>();
  EXPECT_NE(message.find("upstream 'kept' is temporarily unavailable (backing-off"),
            std::string::npos)
      << message;
  EXPECT_NE(message.find("it restarts in"), std::string::npos) << message;
  EXPECT_EQ(reply["error"]["data"]["state"], "backing-off");
}

TEST_F(supervision_test, the_breaker_opens_after_timeouts_fails_fast_then_closes_after_a_probe) {
  auto& h =
      start({{"shaky", {}, "    breaker: {failures: 2, cooldown: 500ms}\n    health: false\n"}},
            "tools:\n  shaky__slow: {timeout: 100ms}\n");
  h.initialize();
  for (int i = 0; i < 2; ++i) {
    const auto slow = call(h, "shaky__slow", {{"ms", 5000}});
    EXPECT_EQ(slow["error"]["code"], -32001) << slow.dump();
  }
  ASSERT_TRUE(h.wait_for_stderr("[shaky] breaker open for 500ms: 2 failed calls in a row", 5s))
      << h.stderr_text();
  // An open breaker fails even a healthy tool at once...
  const auto refused = call(h, "shaky__echo", {{"text", "x"}});
  if (h.count_in_stderr("[shaky] breaker half-open") == 0) {
    ASSERT_TRUE(refused.contains("error")) << refused.dump();
    EXPECT_NE(refused["error"]["message"].get<std::string>().find(
                  "circuit breaker opened after 2 failed calls"),
              std::string::npos)
        << refused.dump();
    EXPECT_EQ(refused["error"]["data"]["breaker"], "open");
  }
  // ... until its cool-down ends: then one probe call goes through and closes it.
  ASSERT_TRUE(h.wait_for_stderr("[shaky] breaker half-open", 10s));
  EXPECT_EQ(text_of(call(h, "shaky__echo", {{"text", "probe"}})), "probe");
  EXPECT_TRUE(h.wait_for_stderr("[shaky] breaker closed: the probe call succeeded", 5s))
      << h.stderr_text();
  EXPECT_EQ(text_of(call(h, "shaky__echo", {{"text", "after"}})), "after");
}

TEST_F(supervision_test, failed_health_probes_mark_it_degraded_then_restart_it) {
  const auto state = dir_.path() + "/hung.lives";
  auto& h = start({{"hung",
                    {"--stall-pings", "--misbehave-lives", "1", "--state-file", state},
                    "    health: {interval: 50ms, timeout: 100ms, failures: 2}\n"
                    "    restart: {backoff: 10ms, max_backoff: 50ms}\n"}});
  h.initialize();
  ASSERT_TRUE(h.wait_for_stderr("[hung] ready -> degraded: health probe failed", 20s))
      << h.stderr_text();
  ASSERT_TRUE(h.wait_for_stderr("2 health probes failed in a row", 20s)) << h.stderr_text();
  // Withdrawn while it restarted, then back: two list_changed.
  ASSERT_TRUE(wait_for_notification(h, "notifications/tools/list_changed"));
  ASSERT_TRUE(wait_for_notification(h, "notifications/tools/list_changed"));
  EXPECT_NE(h.stderr_text().find("[hung] starting -> ready: back after restart 1"),
            std::string::npos);
  const auto echo = call(h, "hung__echo", {{"text", "healthy again"}});
  ASSERT_TRUE(echo.contains("result")) << echo.dump() << h.stderr_text();
  EXPECT_EQ(text_of(echo), "healthy again");
}


TEST_F(supervision_test, lazy_start_at_the_first_call_and_idle_stop) {
  const auto pids = pid_file("sleepy");
  auto& h = start({{"sleepy",
                    {"--pid-file", pids},
                    "    start: lazy\n    idle_timeout: 300ms\n    health: false\n    startup_timeout: 10s\n"}});
  // (A lambda: a throw then shows manifold's log.)
  const auto steps = [&] {
    h.initialize();
    // Listed once, then stopped: idle until a call needs it.
    ASSERT_TRUE(h.wait_for_stderr("[sleepy] ready -> idle: start: lazy", 20s)) << h.stderr_text();
    const auto first = read_pid_file(pids, 5s);
    ASSERT_TRUE(first);
    wait_gone(*first);
    EXPECT_FALSE(process_alive(*first));
    EXPECT_TRUE(tool_names(h).count("sleepy__echo"));
    std::filesystem::remove(pids);
    EXPECT_EQ(text_of(call(h, "sleepy__echo", {{"text", "woken"}})), "woken");
    EXPECT_NE(h.stderr_text().find("[sleepy] idle -> starting: a call needs it"), std::string::npos);
    const auto second = read_pid_file(pids, 5s);
    ASSERT_TRUE(second);
    EXPECT_NE(*first, *second);
    // No calls for idle_timeout: stopped again, and started again by the next call.
    ASSERT_TRUE(h.wait_for_stderr("no calls for 300ms (idle_timeout)", 20s)) << h.stderr_text();
    wait_gone(*second);
    EXPECT_FALSE(process_alive(*second));
    EXPECT_EQ(text_of(call(h, "sleepy__echo", {{"text", "again"}})), "again");
  };
  try {
    steps();
  } catch (const std::exception& e) {
    ADD_FAILURE() << e.what() << "\n" << h.stderr_text();
  }
}

TEST_F(supervision_test, initialize_is_answered_within_the_grace_period_and_late_upstreams_join) {
  auto& h = start({{"mute", {"--no-initialize"}, "    startup_timeout: 60s\n"},
                   {"tardy", {"--init-delay-ms", "1500"}},
                   {"good", {}}},
                  "lifecycle:\n  initialize_grace: 200ms\n");
  // A host with a 10 s initialize timeout (the test's) is answered, though `mute` would take 60 s.
  const auto init = h.initialize();
  ASSERT_TRUE(init.contains("result")) << init.dump();
  auto names = tool_names(h);
  EXPECT_TRUE(names.count("good__echo"));
  EXPECT_FALSE(names.count("mute__echo"));
  ASSERT_TRUE(h.wait_for_stderr("still starting after 200 ms (lifecycle.initialize_grace)", 5s))
      << h.stderr_text();
  if (!names.count("tardy__echo")) {
    ASSERT_TRUE(wait_for_notification(h, "notifications/tools/list_changed"));
  }
  EXPECT_TRUE(tool_names(h).count("tardy__echo"));
  EXPECT_EQ(text_of(call(h, "tardy__echo", {{"text", "late but here"}})), "late but here");
}

TEST_F(supervision_test, a_broken_call_is_retried_only_when_the_tool_is_safe_to_repeat) {
  const auto ro_state = dir_.path() + "/ro.lives";
  const auto rw_state = dir_.path() + "/rw.lives";
  auto& h = start({{"ro",
                    {"--crash-after", "1", "--misbehave-lives", "1", "--state-file", ro_state},
                    quick_restart},
                   {"rw",
                    {"--crash-after", "1", "--misbehave-lives", "1", "--state-file", rw_state},
                    quick_restart},
                   {"opt",
                    {"--crash-after", "1", "--misbehave-lives", "1", "--state-file",
                     dir_.path() + "/opt.lives"},
                    quick_restart}},
                  "tools:\n  opt__inspect: {retry: true}\n");
  h.initialize();
  // echo is annotated readOnlyHint: the crash is survived by sending it again.
  EXPECT_EQ(text_of(call(h, "ro__echo", {{"text", "once more"}})), "once more");
  EXPECT_NE(h.stderr_text().find("[ro] tools/call broke with the link"), std::string::npos)
      << h.stderr_text();
  // slow is not: its caller hears that the outcome is unknown.
  const auto rw = call(h, "rw__slow", {{"ms", 1}});
  ASSERT_TRUE(rw.contains("error")) << rw.dump();
  EXPECT_NE(rw["error"]["message"].get<std::string>().find("It was not sent again"),
            std::string::npos)
      << rw.dump();
  // retry: true in the config makes any tool safe to repeat.
  const auto opt = call(h, "opt__inspect");
  ASSERT_TRUE(opt.contains("result")) << opt.dump();
}

TEST_F(supervision_test, a_per_tool_deadline_cancels_the_call_upstream) {
  auto& h = start({{"alpha", {}}}, "tools:\n  alpha__slow: {timeout: 200ms}\n");
  h.initialize();
  const auto slow = call(h, "alpha__slow", {{"ms", 10000}});
  ASSERT_TRUE(slow.contains("error")) << slow.dump();
  EXPECT_EQ(slow["error"]["code"], -32001);
  EXPECT_NE(slow["error"]["message"].get<std::string>().find("within 200ms"), std::string::npos)
      << slow.dump();
  const auto cancelled = json::parse(text_of(call(h, "alpha__cancellations")));
  EXPECT_EQ(cancelled.size(), 1U) << cancelled.dump();
}

// Every process whose command line mentions `needle`, from /proc.
std::vector<pid_t> processes_mentioning(const std::string& needle) {
  std::vector<pid_t> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const auto name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream in(entry.path() / "cmdline", std::ios::binary);
    const std::string cmdline((std::istreambuf_iterator<char>(in)),
                              std::istreambuf_iterator<char>());
    if (cmdline.find(needle) == std::string::npos) continue;
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    std::getline(stat, line);
    const auto close = line.rfind(')');
    if (close != std::string::npos && close + 2 < line.size() && line[close + 2] == 'Z')
      continue;  // reaped soon
    out.push_back(static_cast<pid_t>(std::stol(name)));
  }
  return out;
}

TEST_F(supervision_test, killing_manifold_with_sigkill_leaves_no_process_behind) {
  // One ignores stdin EOF and SIGTERM, one has been restarted after a crash, one is lazy.
  auto& h = start({{"stubborn", {"--stubborn", "--pid-file", pid_file("stubborn")}},
                   {"phoenix", {"--pid-file", pid_file("phoenix")}, quick_restart},
                   {"lazy", {"--pid-file", pid_file("lazy")}, "    start: lazy\n"}});
  h.initialize();
  EXPECT_EQ(call(h, "phoenix__crash")["error"]["code"], -32000);
  ASSERT_TRUE(h.wait_for_stderr("[phoenix] starting -> ready: back after restart 1", 20s))
      << h.stderr_text();
  EXPECT_EQ(text_of(call(h, "lazy__echo", {{"text", "up"}})), "up");
  const auto mentioned = processes_mentioning(dir_.path());
  ASSERT_GE(mentioned.size(), 3U);
  h.kill_now(SIGKILL);
  ASSERT_TRUE(h.wait_exit(5s));
  for (const auto pid : mentioned) wait_gone(pid);
  const auto left = processes_mentioning(dir_.path());
  EXPECT_TRUE(left.empty()) << left.size() << " processes outlived manifold, the first "
                            << left.front();
}

}  // namespace
}  // namespace manifold::test

namespace manifold::test {
namespace {

using faults_test = serve_fixture;

// Every fault action once, each on its own tool; each is logged and counted.
TEST_F(faults_test, each_action_hits_the_calls_it_names_and_is_logged) {
  auto& h = start(
      {{"target", {}, "    restart: {backoff: 20ms, max_backoff: 50ms}\n    health: false\n"}},
      "tools:\n  target__slow: {timeout: 300ms}\n  target__progress: {timeout: 100ms}\n"
      "faults:\n"
      "  - {server: target, tool: echo, action: delay, delay: 50ms, every: 1}\n"
      "  - {server: target, tool: fail, action: error, code: -32050, message: \"drill error\", "
      "every: 1}\n"
      "  - {server: target, tool: inspect, action: is_error, message: \"drill says no\", every: "
      "1}\n"
      "  - {server: target, tool: slow, action: drop, every: 2}\n"
      "  - {server: target, tool: garbage, action: garbage, every: 1}\n"
      "  - {server: target, tool: big, action: crash, every: 1}\n"
      "  - {server: target, tool: progress, action: stall, delay: 400ms, every: 1}\n"
      "  - {server: \"other*\", tool: \"*\", action: error, every: 1}\n");
  h.initialize();
  EXPECT_EQ(text_of(call(h, "target__echo", {{"text", "late"}})), "late");
  const auto error = call(h, "target__fail");
  EXPECT_EQ(error["error"]["code"], -32050) << error.dump();
  EXPECT_EQ(error["error"]["message"], "drill error");
  const auto is_error = call(h, "target__inspect");
  EXPECT_EQ(is_error["result"]["isError"], true) << is_error.dump();
  EXPECT_EQ(text_of(is_error), "drill says no");
  // drop: every 2nd call of slow loses its reply and runs into its deadline; the upstream
  // hears notifications/cancelled.
  EXPECT_EQ(text_of(call(h, "target__slow", {{"ms", 1}, {"text", "first"}})), "first");
  const auto dropped = call(h, "target__slow", {{"ms", 1}});
  EXPECT_EQ(dropped["error"]["code"], -32001) << dropped.dump();
  EXPECT_NE(text_of(call(h, "target__cancellations")), "[]");
  const auto garbled = call(h, "target__garbage");
  ASSERT_TRUE(garbled.contains("error")) << garbled.dump();
  EXPECT_NE(garbled["error"]["message"].get<std::string>().find("injected garbage"),
            std::string::npos)
      << garbled.dump();
  // crash: the process dies under the call, and is restarted.
  const auto crashed = call(h, "target__big", {{"bytes", 10}});
  EXPECT_EQ(crashed.value(json::json_pointer("/error/code"), 0), -32000) << crashed.dump();
  ASSERT_TRUE(wait_for_notification(h, "notifications/tools/list_changed"));  // withdrawn
  ASSERT_TRUE(wait_for_notification(h, "notifications/tools/list_changed"));  // back
  EXPECT_NE(h.stderr_text().find("[target] starting -> ready: back after restart 1"),
            std::string::npos);
  // stall: nothing is read from the upstream for 400 ms; the call's 100 ms deadline passes.
  const auto stalled = call(h, "target__progress", {{"steps", 0}});
  EXPECT_EQ(stalled.value(json::json_pointer("/error/code"), 0), -32001) << stalled.dump();
  const auto err = h.stderr_text();
  for (const char* action :
       {"delay on tools/call echo", "error on tools/call fail", "is_error on tools/call inspect",
        "drop on tools/call slow", "garbage on tools/call garbage", "stall on tools/call progress",
        "crash on tools/call big"}) {
    EXPECT_NE(err.find(std::string("[target] fault injected: ") + action), std::string::npos)
        << action << "\n"
        << err;
  }
  EXPECT_EQ(h.count_in_stderr("[target] fault injected: "), 7U) << err;
}

TEST_F(faults_test, faults_are_started_and_stopped_by_a_reload_on_a_running_manifold) {
  auto& h = start({{"alpha", {}}}, "", {"--faults", dir_.write("faults.yaml", "faults: []\n")});
  h.initialize();
  EXPECT_EQ(text_of(call(h, "alpha__echo", {{"text", "calm"}})), "calm");
  dir_.write(
      "faults.yaml",
      "faults:\n  - {server: alpha, tool: echo, action: error, message: \"drill on\", every: 1}\n");
  ASSERT_TRUE(h.wait_for_stderr("[alpha] 1 fault rule active", 20s)) << h.stderr_text();
  EXPECT_EQ(call(h, "alpha__echo")["error"]["message"], "drill on");
  dir_.write("faults.yaml", "faults: []\n");
  ASSERT_TRUE(h.wait_for_stderr("[alpha] 0 fault rules active", 20s)) << h.stderr_text();
  EXPECT_EQ(text_of(call(h, "alpha__echo", {{"text", "calm again"}})), "calm again");
}

TEST_F(faults_test, a_bad_faults_file_names_its_line) {
  const auto faults =
      dir_.write("faults.yaml", "faults:\n  - {server: alpha, action: explode, every: 1}\n");
  auto& h = start({{"alpha", {}}}, "", {"--faults", faults});
  const auto status = h.wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_NE(h.stderr_text().find("faults.yaml:2:"), std::string::npos) << h.stderr_text();
  EXPECT_NE(
      h.stderr_text().find("action must be delay, error, is_error, drop, crash, garbage or stall"),
      std::string::npos)
      << h.stderr_text();
}

// ---- manifold drill: every scenario once ----

struct drill_run {
  int exit_code = -1;
  json report;
  std::string err;
};

drill_run drill(const temp_dir& dir, const std::string& scenario,
                std::vector<std::string> extra = {}) {
  const auto config = dir.write(
      "drill.yaml", config_for({{"alpha", {}, "    restart: {backoff: 10ms, max_backoff: 50ms}\n"},
                                {"beta", {"--tool-prefix", "b_"}, "    timeout: 2s\n"}},
                               "lifecycle:\n  health: {interval: 100ms, timeout: 200ms}\n"));
  std::vector<std::string> argv{MANIFOLD_BIN, "drill",  "--config",           config,
                                "--scenario", scenario, "--format",           "json",
                                "--duration", "300ms",  "--recovery-timeout", "20s"};
  argv.insert(argv.end(), extra.begin(), extra.end());
  host_process p(argv);
  p.close_stdin();
  drill_run r;
  const auto out = p.read_all_raw(120s);
  const auto status = p.wait_exit(30s);
  if (status && WIFEXITED(*status)) r.exit_code = WEXITSTATUS(*status);
  r.report = json::parse(out, nullptr, false);
  r.err = p.stderr_text();
  return r;
}

using drill_test = serve_fixture;

TEST_F(drill_test, crash_each_kills_every_upstream_in_turn_and_times_its_recovery) {
  const auto r = drill(dir_, "crash-each", {"--call", "beta=b_echo"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.report["passed"], true);
  ASSERT_EQ(r.report["upstreams"].size(), 2U) << r.report.dump();
  for (const auto& u : r.report["upstreams"]) {
    EXPECT_TRUE(u["recoveryMs"].is_number()) << u.dump();
    EXPECT_GE(u["restarts"].get<int>(), 1) << u.dump();
    EXPECT_GE(u["calls"].get<int>(), 1) << u.dump();
  }
  EXPECT_EQ(r.report["upstreams"][0]["tool"], "alpha__echo");   // its read-only tool
  EXPECT_EQ(r.report["upstreams"][1]["tool"], "beta__b_echo");  // named with --call
}

TEST_F(drill_test, hang_each_stalls_every_upstream_and_it_answers_again) {
  const auto r = drill(dir_, "hang-each");
  ASSERT_EQ(r.exit_code, 0) << r.err << r.report.dump();
  for (const auto& u : r.report["upstreams"]) {
    EXPECT_TRUE(u["recoveryMs"].is_number()) << u.dump();
    EXPECT_GE(u["recoveryMs"].get<double>(), 300.0) << u.dump();  // not before the stall ends
  }
  EXPECT_NE(r.err.find("fault injected by a drill: stall"), std::string::npos);
}

TEST_F(drill_test, slow_adds_latency_to_every_call) {
  const auto r = drill(dir_, "slow");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto& alpha = r.report["upstreams"][0];
  EXPECT_EQ(alpha["calls"], 3);
  EXPECT_EQ(alpha["ok"], 3);
  EXPECT_GE(alpha["latencyMs"]["p50"].get<double>(), 300.0) << alpha.dump();
}

TEST_F(drill_test, flaky_answers_some_calls_with_errors_and_reports_them) {
  const auto r = drill(dir_, "flaky");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto& alpha = r.report["upstreams"][0];
  EXPECT_EQ(alpha["calls"], 20);
  std::size_t errors = 0;
  for (const auto& [what, n] : alpha["errors"].items()) {
    EXPECT_NE(what.find("injected by manifold drill"), std::string::npos) << what;
    errors += n.get<std::size_t>();
  }
  EXPECT_EQ(errors + alpha["ok"].get<std::size_t>(), 20U);
}

TEST_F(drill_test, an_unknown_scenario_is_refused_and_list_describes_them) {
  EXPECT_EQ(drill(dir_, "explode").exit_code, 2);
  host_process p({MANIFOLD_BIN, "drill", "--config", dir_.write("x.yaml", "servers: {}\n"),
                  "--scenario", "list"});
  p.close_stdin();
  const auto out = p.read_all_raw(10s);
  EXPECT_NE(out.find("crash-each"), std::string::npos);
  EXPECT_NE(out.find("flaky"), std::string::npos);
}

}  // namespace
}  // namespace manifold::test
