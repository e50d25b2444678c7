// One call of a SQL tool, and the shape of its result.
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdlib>
#include <fstream>

#include "server_parts.hpp"
#include "sql.hpp"

namespace manifold::exec::detail {

namespace asio = boost::asio;

namespace {

constexpr std::size_t table_rows = 20;
constexpr std::size_t cell_width = 40;

std::string cell(const json& v) {
  std::string s = v.is_string() ? v.get<std::string>() : v.is_null() ? "NULL" : v.dump();
  for (auto& c : s) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  if (s.size() > cell_width) s = s.substr(0, cell_width - 3) + "...";
  return s;
}

// A plain-text table of the first rows, for models that read text.
std::string text_table(const sql_rows& r) {
  std::vector<std::size_t> width;
  for (const auto& c : r.columns) width.push_back(std::min(c.size(), cell_width));
  const auto shown = std::min(r.rows.size(), table_rows);
  for (std::size_t i = 0; i < shown; ++i) {
    for (std::size_t k = 0; k < width.size() && k < r.rows[i].size(); ++k) {
      width[k] = std::max(width[k], cell(r.rows[i][k]).size());
    }
  }
  const auto line = [&](const std::vector<std::string>& cells) {
    std::string out;
    for (std::size_t k = 0; k < width.size(); ++k) {
      auto c = k < cells.size() ? cells[k] : std::string();
      out += (k ? " | " : "") + c + std::string(width[k] - std::min(width[k], c.size()), ' ');
    }
    while (!out.empty() && out.back() == ' ') out.pop_back();
    return out + "\n";
  };
  std::string out = line(r.columns);
  std::string rule;
  for (std::size_t k = 0; k < width.size(); ++k)
    rule += (k ? "-+-" : "") + std::string(width[k], '-');
  out += rule + "\n";
  for (std::size_t i = 0; i < shown; ++i) {
    std::vector<std::string> cells;
    for (const auto& v : r.rows[i]) cells.push_back(cell(v));
    out += line(cells);
  }
  if (r.rows.size() > shown)
    out += "... " + std::to_string(r.rows.size() - shown) + " more rows in structuredContent\n";
  out += "(" + std::to_string(r.rows.size()) + (r.rows.size() == 1 ? " row" : " rows") + ")";
  return out;
}

// The connection string now: literal, or read from the environment or a file.
std::optional<std::string> conninfo(const config::sql_server_spec& sql, std::string& error) {
  if (!sql.dsn.empty()) return sql.dsn;
  if (!sql.dsn_env.empty()) {
    const char* v =
        std::getenv(sql.dsn_env.c_str());  // NOLINT(concurrency-mt-unsafe): read-only use
    if (v == nullptr || *v == '\0') {
      error = "the connection variable " + sql.dsn_env + " is not set";
      return std::nullopt;
    }
    return std::string(v);
  }
  std::ifstream in(sql.dsn_file);
  std::string line;
  if (!in || !std::getline(in, line)) {
    error = "cannot read the connection file " + sql.dsn_file;
    return std::nullopt;
  }
  return line;
}

}  // namespace

bool sql_rows::add(json row, std::size_t bytes, std::size_t& used, const sql_query& q) {
  if (rows.size() >= q.max_rows) {
    row_cap_hit = true;
    return false;
  }
  if (used + bytes > q.max_bytes) {
    byte_cap_hit = true;
    return false;
  }
  used += bytes;
  rows.push_back(std::move(row));
  return true;
}

json sql_result(const config::exec_tool& tool, const sql_rows& r) {
  if (r.cancelled) return failed("cancelled");
  if (!r.error.empty()) {
    return failed(r.timed_out
                      ? "the query ran past its timeout of " +
                            std::to_string(tool.timeout.count()) + "ms and was stopped: " + r.error
                      : "the query failed: " + r.error);
  }
  const bool truncated = r.row_cap_hit || r.byte_cap_hit;
  json structured{{"columns", r.columns},
                  {"rows", r.rows},
                  {"row_count", r.rows.size()},
                  {"truncated", truncated}};
  if (r.affected >= 0) structured["affected_rows"] = r.affected;
  json content = json::array({{{"type", "text"}, {"text", text_table(r)}}});
  if (r.row_cap_hit) {
    content.push_back(
        {{"type", "text"},
         {"text", "[manifold] more rows than the cap of " + std::to_string(tool.sql.max_rows) +
                      "; only the first are returned"}});
  }
  if (r.byte_cap_hit) {
    content.push_back(
        {{"type", "text"},
         {"text", "[manifold] the rows passed the cap of " + std::to_string(tool.output.max_bytes) +
                      " bytes; the rest were left out"}});
  }
  if (r.affected >= 0)
    content.push_back({{"type", "text"}, {"text", std::to_string(r.affected) + " rows affected"}});
  return {{"content", std::move(content)},
          {"structuredContent", std::move(structured)},
          {"isError", false}};
}

asio::awaitable<json> run_sql_tool(const compiled_tool& tool, const json& arguments,
                                   call_context& ctx) {
  const auto& cfg = *tool.cfg;
  auto checked = tool.args.check(arguments);
  if (!checked.ok()) co_return refused(checked.error);
  sql_query q;
  q.text = cfg.sql.query;
  q.mutating = cfg.sql.mutating;
  q.timeout = cfg.timeout;
  q.max_rows = cfg.sql.max_rows;
  q.max_bytes = cfg.output.max_bytes;
  for (const auto& name : cfg.sql.bind) {
    const auto it = checked.values.find(name);
    q.params.push_back(it == checked.values.end() ? json() : *it);
  }
  spdlog::info("[{}] {}: {} query with {} parameters", ctx.server, cfg.name, ctx.exec->sql.driver,
               q.params.size());
  sql_rows rows;
  if (ctx.exec->sql.driver == "sqlite") {
    rows = run_sqlite(ctx.exec->sql.path, q);
  } else {
    std::string error;
    auto info = conninfo(ctx.exec->sql, error);
    if (!info) co_return failed(error);
    rows = co_await run_postgres(ctx.executor, std::move(*info), std::move(q), ctx.control);
  }
  auto result = sql_result(cfg, rows);
  if (cfg.untrusted_output) mark_untrusted(result, cfg.name);
  co_return result;
}

}  // namespace manifold::exec::detail
