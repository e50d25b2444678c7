#pragma once

// Private to exec/: the SQL tool kind (PostgreSQL through libpq's asynchronous API on the io
// thread; SQLite inline, bounded by a progress-handler deadline).

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "manifold/config/exec_config.hpp"
#include "manifold/exec/process.hpp"
#include "manifold/protocol/json_rpc.hpp"

namespace manifold::exec::detail {

using json = nlohmann::json;

// One named query's run: its parameters bound in order, never spliced into the text.
struct sql_query {
  std::string text;
  std::vector<json> params;  // strings, integers, numbers, booleans or null
  bool mutating = false;     // else a read-only transaction
  std::chrono::milliseconds timeout{std::chrono::seconds(30)};  // statement timeout
  std::size_t max_rows = 100;
  std::size_t max_bytes = 256 * 1024;
};

struct sql_rows {
  std::vector<std::string> columns;
  std::vector<json> rows;  // each an array, one value per column
  bool row_cap_hit = false;
  bool byte_cap_hit = false;
  long long affected = -1;  // rows changed by a mutating query
  std::string error;        // the database's message, or manifold's
  bool timed_out = false;
  bool cancelled = false;

  // Adds a row unless a cap is reached; false once full (the caller stops reading).
  bool add(json row, std::size_t bytes, std::size_t& used, const sql_query& q);
};

// Runs `q` on PostgreSQL (`conninfo`): connect, BEGIN [READ ONLY], SET LOCAL
// statement_timeout, the query in single-row mode, ROLLBACK (read-only) or COMMIT. Every
// wait is on the connection's socket, registered with Asio, with a deadline of the timeout
// plus a margin; a read-only query that reaches a cap is abandoned (the connection closes).
boost::asio::awaitable<sql_rows> run_postgres(boost::asio::any_io_executor executor,
                                              std::string conninfo, sql_query q,
                                              std::shared_ptr<process_control> control);

// Runs `q` on the SQLite file `path` (read-only open and query_only unless mutating; one
// statement; a write refused in a read-only tool). Blocks the calling thread for at most the
// timeout (a progress handler interrupts it then).
sql_rows run_sqlite(const std::string& path, const sql_query& q);

// The CallToolResult: structuredContent {columns, rows, row_count, truncated[, affected_rows]}
// and a short text table.
json sql_result(const config::exec_tool& tool, const sql_rows& rows);

}  // namespace manifold::exec::detail
