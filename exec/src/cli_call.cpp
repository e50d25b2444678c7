// One call of a CLI tool: everything that can refuse it runs before any process starts.
#include <spdlog/spdlog.h>

#include "manifold/exec/deny_list.hpp"
#include "manifold/exec/render.hpp"
#include "server_parts.hpp"

namespace manifold::exec::detail {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

namespace {

// Relays stdout lines as notifications/progress, at most `per_second` on average (bursts of
// up to one second's worth); the others are counted.
class progress_relay {
 public:
  progress_relay(call_context& ctx, unsigned per_second)
      : ctx_(ctx), rate_(per_second), tokens_(per_second), last_(clock::now()) {}

  void line(std::string_view text) {
    const auto now = clock::now();
    const auto elapsed = std::chrono::duration<double>(now - last_).count();
    last_ = now;
    tokens_ = std::min(static_cast<double>(rate_), tokens_ + elapsed * rate_);
    if (tokens_ < 1.0) {
      ++dropped_;
      return;
    }
    tokens_ -= 1.0;
    ++sent_;
    ctx_.notify_progress({{"progressToken", ctx_.progress_token},
                          {"progress", sent_},
                          {"message", std::string(text)}});
  }
  [[nodiscard]] std::size_t dropped() const { return dropped_; }
  [[nodiscard]] std::size_t sent() const { return sent_; }

 private:
  call_context& ctx_;
  unsigned rate_;
  double tokens_;
  clock::time_point last_;
  std::size_t dropped_ = 0;
  std::size_t sent_ = 0;
};

// Issues the plan_ids that a successful run of a preview tool grants: one per target tool,
// bound to the command the target would run with these same arguments.
std::vector<std::string> issue_plans(const compiled_tool& tool, const json& values,
                                     call_context& ctx, json& meta) {
  std::vector<std::string> notes;
  for (const auto& target_name : tool.plans_for) {
    for (const auto& target : *ctx.tools) {
      if (target->cfg->name != target_name || !target->hidden_reason.empty()) continue;
      json own = json::object();
      for (const auto& p : target->cfg->params) {
        if (const auto it = values.find(p.name); it != values.end()) own[p.name] = *it;
      }
      auto rendered = render_command(*target->cfg, own);
      if (!rendered.ok()) continue;
      const auto id =
          ctx.plans->issue(target_name, rendered.command, clock::now(), target->cfg->plan_ttl);
      meta["plans"][target_name] = id;
      const auto minutes =
          std::chrono::duration_cast<std::chrono::seconds>(target->cfg->plan_ttl).count();
      notes.push_back("plan_id for " + target_name + ": " + id + " (single use, valid " +
                      std::to_string(minutes) + "s, only with exactly these arguments)");
    }
  }
  return notes;
}

process_spec spec_of(const config::exec_tool& tool, rendered_command command) {
  process_spec spec;
  spec.binary = std::move(command.binary);
  spec.argv = std::move(command.argv);
  spec.env = child_environment(tool.env);
  spec.cwd = tool.cwd;
  spec.stdin_data = std::move(command.stdin_data);
  spec.timeout = tool.stream.enabled ? tool.stream.max_duration : tool.timeout;
  spec.kill_grace = tool.kill_grace;
  spec.max_stdout = tool.output.max_bytes;
  spec.keep = tool.output.keep;
  spec.max_stderr = tool.output.max_stderr_bytes;
  spec.max_line = tool.stream.max_line_bytes;
  return spec;
}

}  // namespace

asio::awaitable<json> run_cli_tool(const compiled_tool& tool, const json& arguments,
                                   call_context& ctx) {
  const auto& cfg = *tool.cfg;
  auto checked = tool.args.check(arguments);
  if (!checked.ok()) co_return refused(checked.error);
  auto rendered = render_command(cfg, checked.values);
  if (!rendered.ok()) co_return refused(rendered.error);
  if (auto why =
          denied(tool.profile, rendered.command, ctx.exec->deny_flags, ctx.exec->allow_flags);
      !why.empty()) {
    co_return refused(why);
  }
  if (!cfg.preview.empty()) {
    const auto verdict =
        ctx.plans->redeem(checked.plan_id, cfg.name, rendered.command, clock::now());
    if (verdict != plan_store::verdict::accepted) {
      co_return refused(std::string(plan_store::describe(verdict)) +
                        " (preview tool: " + cfg.preview + ")");
    }
  }
  std::unique_ptr<progress_relay> relay;
  std::function<void(std::string_view)> on_line;
  if (cfg.stream.enabled && ctx.notify_progress) {
    relay = std::make_unique<progress_relay>(ctx, cfg.stream.lines_per_second);
    on_line = [r = relay.get()](std::string_view line) { r->line(line); };
  }
  spdlog::info("[{}] {}: running {} with {} arguments", ctx.server, cfg.name, cfg.binary,
               rendered.command.argv.size());
  const auto run =
      co_await run_process(ctx.executor, spec_of(cfg, rendered.command), on_line, ctx.control);
  spdlog::info("[{}] {}: {} in {} ms, {} bytes of output", ctx.server, cfg.name,
               run.start_error.empty()
                   ? (run.timed_out     ? "timed out"
                      : run.cancelled   ? "cancelled"
                      : run.signal != 0 ? "signal " + std::to_string(run.signal)
                                        : "exit " + std::to_string(run.exit_code))
                   : run.start_error,
               run.duration.count(), run.stdout_bytes);
  std::vector<std::string> notes;
  json meta = json::object();
  if (relay) {
    meta["progress_lines"] = relay->sent();
    if (relay->dropped() > 0) {
      notes.push_back(
          std::to_string(relay->dropped()) +
          " lines were not sent as progress (over the line rate); the tail below has them");
    }
  }
  auto result = cli_result(cfg, run, std::move(notes), meta);
  if (!tool.plans_for.empty() && !result.value("isError", false)) {
    json plans_meta = json::object();
    auto plan_notes = issue_plans(tool, checked.values, ctx, plans_meta);
    for (auto& n : plan_notes)
      result["content"].push_back({{"type", "text"}, {"text", "[manifold] " + n}});
    if (plans_meta.contains("plans"))
      result["_meta"]["manifold/exec"]["plans"] = plans_meta["plans"];
  }
  co_return result;
}

}  // namespace manifold::exec::detail
