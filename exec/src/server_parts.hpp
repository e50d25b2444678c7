#pragma once

// Private to exec/: the pieces an exec server is made of.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "manifold/config/config.hpp"
#include "manifold/exec/arguments.hpp"
#include "manifold/exec/exec_server.hpp"
#include "manifold/exec/plan_store.hpp"
#include "manifold/exec/process.hpp"

namespace manifold::exec::detail {

// One declared tool, compiled once at server start.
struct compiled_tool {
  explicit compiled_tool(const config::exec_tool& tool);

  const config::exec_tool* cfg;
  argument_checker args;
  std::string profile;                 // deny-list profile
  std::vector<std::string> plans_for;  // tools whose plan_id a successful run of this issues
  std::string hidden_reason;           // set by the self-check; hidden when non-empty

  // The tools/list entry: name, title, description, inputSchema, annotations, and
  // _meta["manifold/exec"] = {kind, sensitive, untrusted_output, preview, stream}.
  [[nodiscard]] json definition() const;
};

// What a call needs from its server. Lives as long as the call (the server outlives it).
struct call_context {
  boost::asio::any_io_executor executor;
  const config::exec_config* exec = nullptr;
  std::string server;
  plan_store* plans = nullptr;
  const std::vector<std::unique_ptr<compiled_tool>>* tools = nullptr;
  // Sends one notifications/progress params object; empty when the call has no token.
  std::function<void(json params)> notify_progress;
  json progress_token;
  std::shared_ptr<process_control> control = std::make_shared<process_control>();
};

// A tool result that says why nothing ran (isError; content text).
json refused(const std::string& why);
// A tool result for a failure after the run started.
json failed(const std::string& why);

// cli_call.cpp: check, render, deny-list, plan, run, result.
boost::asio::awaitable<json> run_cli_tool(const compiled_tool& tool, const json& arguments,
                                          call_context& ctx);
// tool_result.cpp: the CallToolResult of a finished run.
json cli_result(const config::exec_tool& tool, const process_outcome& run,
                std::vector<std::string> notes, json meta);
// Marks `result` as possibly carrying injected instructions (untrusted_output: true).
void mark_untrusted(json& result, const std::string& tool);
// Parses `text` as JSON (depth-limited) into structuredContent; a note when it is not JSON.
void add_structured(json& result, const std::string& text, bool truncated,
                    std::vector<std::string>& notes);

// self_check.cpp: digests, version range, per-tool checks and template literals; sets
// hidden_reason on the tools it hides. Returns the version found (may be empty).
boost::asio::awaitable<std::string> run_self_check(
    boost::asio::any_io_executor executor, const config::server_config& server,
    std::vector<std::unique_ptr<compiled_tool>>& tools);

// http_call.cpp and sql_call.cpp: the REST and SQL kinds.
boost::asio::awaitable<json> run_http_tool(const compiled_tool& tool, const json& arguments,
                                           call_context& ctx);
boost::asio::awaitable<json> run_sql_tool(const compiled_tool& tool, const json& arguments,
                                          call_context& ctx);

}  // namespace manifold::exec::detail
