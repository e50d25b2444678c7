// The start-up self-check of an exec server: what the binary and the credentials allow.
#include <spdlog/spdlog.h>

#include <regex>

#include "manifold/config/argv_template.hpp"
#include "manifold/config/version_range.hpp"
#include "manifold/exec/deny_list.hpp"
#include "manifold/io/parallel.hpp"
#include "server_parts.hpp"

namespace manifold::exec::detail {

namespace asio = boost::asio;

namespace {

constexpr std::size_t probe_output = 64 * 1024;

process_spec probe(const std::string& binary, std::vector<std::string> args,
                   const config::exec_env& env, const std::string& cwd,
                   std::chrono::milliseconds timeout) {
  process_spec spec;
  spec.binary = binary;
  spec.argv = std::move(args);
  spec.env = child_environment(env);
  spec.cwd = cwd;
  spec.timeout = timeout;
  spec.kill_grace = std::chrono::milliseconds(500);
  spec.max_stdout = probe_output;
  spec.max_stderr = 4096;
  return spec;
}

std::string one_line(std::string text) {
  for (auto& c : text) {
    if (c == '\n' || c == '\r') c = ' ';
  }
  if (text.size() > 300) text = text.substr(0, 300) + "...";
  while (!text.empty() && text.back() == ' ') text.pop_back();
  return text;
}

// A template whose own literals use a refused option can never run: hide it up front.
std::string literal_problem(const compiled_tool& tool, const config::exec_config& exec) {
  rendered_command probe_cmd;
  probe_cmd.binary = tool.cfg->binary;
  for (const auto& e : tool.cfg->argv) {
    const auto parsed = config::parse_template(e.text);
    std::string text;
    bool slot = false;
    for (const auto& piece : parsed.pieces) {
      text += piece.slot ? "x" : piece.text;
      slot = slot || piece.slot;
    }
    probe_cmd.argv.push_back(std::move(text));
    probe_cmd.literal.push_back(!slot);
  }
  auto why = denied(tool.profile, probe_cmd, exec.deny_flags, exec.allow_flags);
  return why.empty() ? why : "its template is refused by the deny-list: " + why;
}

// The version of the server's binary, or why it is not acceptable.
asio::awaitable<std::pair<std::string, std::string>> check_version(asio::any_io_executor executor,
                                                                   const config::exec_config& exec,
                                                                   const config::exec_tool& first) {
  const auto& v = *exec.version;
  const auto run =
      co_await run_process(executor, probe(exec.binary, v.args, first.env, first.cwd, v.timeout));
  if (!run.start_error.empty()) co_return std::pair{std::string(), run.start_error};
  const auto output = run.stdout_raw + "\n" + run.stderr_tail;
  std::smatch match;
  const std::regex re(v.pattern, std::regex::ECMAScript);
  if (!std::regex_search(output, match, re) || match.size() < 2) {
    co_return std::pair{std::string(), "the version of " + exec.binary +
                                           " could not be read (pattern " + v.pattern +
                                           " matched nothing in: " + one_line(output) + ")"};
  }
  const auto found = match[1].str();
  const auto parsed = config::parse_version(found);
  if (!parsed || !config::satisfies(*parsed, v.range)) {
    co_return std::pair{
        found, exec.binary + " is version " + found + ", outside the supported range " + v.range};
  }
  co_return std::pair{found, std::string()};
}

asio::awaitable<void> check_tool(asio::any_io_executor executor, compiled_tool& tool) {
  const auto& cfg = *tool.cfg;
  const auto& c = *cfg.check;
  const auto run =
      co_await run_process(executor, probe(cfg.binary, c.args, cfg.env, cfg.cwd, c.timeout));
  if (!run.start_error.empty()) {
    tool.hidden_reason = "check failed: " + run.start_error;
    co_return;
  }
  const bool ok =
      !run.timed_out && run.signal == 0 &&
      std::find(c.ok_exits.begin(), c.ok_exits.end(), run.exit_code) != c.ok_exits.end();
  if (ok) co_return;
  std::string command = cfg.binary;
  for (const auto& a : c.args) command += " " + a;
  const auto said = one_line(run.stdout_raw + " " + run.stderr_tail);
  tool.hidden_reason =
      "check `" + command + "` failed (" +
      (run.timed_out ? std::string("timed out") : "exit status " + std::to_string(run.exit_code)) +
      (said.empty() ? "" : ": " + said) + ")";
}

}  // namespace

asio::awaitable<std::string> run_self_check(asio::any_io_executor executor,
                                            const config::server_config& server,
                                            std::vector<std::unique_ptr<compiled_tool>>& tools) {
  const auto& exec = *server.exec;
  for (auto& t : tools) {
    if (t->cfg->kind == config::exec_kind::cli) t->hidden_reason = literal_problem(*t, exec);
  }
  std::string version;
  if (exec.version) {
    const auto first = std::find_if(tools.begin(), tools.end(), [&](const auto& t) {
      return t->cfg->kind == config::exec_kind::cli && t->cfg->binary == exec.binary;
    });
    if (first != tools.end()) {
      auto [found, problem] = co_await check_version(executor, exec, *(*first)->cfg);
      version = found;
      if (!problem.empty()) {
        spdlog::error("[{}] self-check: {}; its tools are hidden", server.name, problem);
        for (auto& t : tools) {
          if (t->cfg->binary == exec.binary && t->hidden_reason.empty()) t->hidden_reason = problem;
        }
      } else {
        spdlog::info("[{}] self-check: {} version {} is within {}", server.name, exec.binary, found,
                     exec.version->range);
      }
    }
  }
  std::vector<compiled_tool*> to_check;
  for (auto& t : tools) {
    if (t->cfg->check && t->hidden_reason.empty()) to_check.push_back(t.get());
  }
  co_await io::parallel_for_each(to_check, [executor](compiled_tool* t) -> asio::awaitable<void> {
    co_await check_tool(executor, *t);
  });
  for (const auto& t : tools) {
    if (!t->hidden_reason.empty())
      spdlog::warn("[{}] tool {} hidden: {}", server.name, t->cfg->name, t->hidden_reason);
  }
  co_return version;
}

}  // namespace manifold::exec::detail
