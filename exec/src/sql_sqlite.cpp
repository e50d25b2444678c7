// SQLite: a local file, opened per call. SQLite's API is synchronous; the call runs on the io
// thread and a progress handler interrupts it at the deadline, so it blocks that thread for
// at most the tool's timeout (the one documented exception to "no blocking on the io
// thread": a bounded, local, CPU-only wait).
#include <sqlite3.h>

#include <string>

#include "sql.hpp"

namespace manifold::exec::detail {

namespace {

using steady = std::chrono::steady_clock;

struct db_handle {
  sqlite3* db = nullptr;
  ~db_handle() { sqlite3_close_v2(db); }
};

struct stmt_handle {
  sqlite3_stmt* stmt = nullptr;
  ~stmt_handle() { sqlite3_finalize(stmt); }
};

int past_deadline(void* deadline) {
  return steady::now() > *static_cast<steady::time_point*>(deadline) ? 1 : 0;
}

void bind(sqlite3_stmt* stmt, int index, const json& v) {
  if (v.is_string()) {
    const auto& s = v.get_ref<const std::string&>();
    sqlite3_bind_text64(stmt, index, s.data(), s.size(), SQLITE_TRANSIENT, SQLITE_UTF8);  // NOLINT
  } else if (v.is_boolean()) {
    sqlite3_bind_int(stmt, index, v.get<bool>() ? 1 : 0);
  } else if (v.is_number_integer()) {
    sqlite3_bind_int64(stmt, index, v.get<std::int64_t>());
  } else if (v.is_number()) {
    sqlite3_bind_double(stmt, index, v.get<double>());
  } else {
    sqlite3_bind_null(stmt, index);
  }
}

json column(sqlite3_stmt* stmt, int k, std::size_t& bytes) {
  switch (sqlite3_column_type(stmt, k)) {
    case SQLITE_INTEGER:
      bytes += 8;
      return sqlite3_column_int64(stmt, k);
    case SQLITE_FLOAT:
      bytes += 8;
      return sqlite3_column_double(stmt, k);
    case SQLITE_TEXT: {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, k));  // NOLINT
      const auto n = static_cast<std::size_t>(sqlite3_column_bytes(stmt, k));
      bytes += n;
      return std::string(text, n);
    }
    case SQLITE_BLOB: {
      const auto n = sqlite3_column_bytes(stmt, k);
      bytes += 16;
      return "<blob, " + std::to_string(n) + " bytes>";
    }
    default:
      bytes += 4;
      return nullptr;
  }
}

bool exec(sqlite3* db, const char* sql) {
  return sqlite3_exec(db, sql, nullptr, nullptr, nullptr) == SQLITE_OK;
}

void read_rows(sqlite3* db, sqlite3_stmt* stmt, const sql_query& q, sql_rows& out) {
  std::size_t used = 0;
  const int columns = sqlite3_column_count(stmt);
  for (int k = 0; k < columns; ++k) out.columns.emplace_back(sqlite3_column_name(stmt, k));
  while (true) {
    const int rc = sqlite3_step(stmt);
    if (rc == SQLITE_DONE) break;
    if (rc != SQLITE_ROW) {
      out.timed_out = rc == SQLITE_INTERRUPT;
      out.error = rc == SQLITE_INTERRUPT ? "interrupted at the deadline" : sqlite3_errmsg(db);
      return;
    }
    json row = json::array();
    std::size_t bytes = 0;
    for (int k = 0; k < columns; ++k) row.push_back(column(stmt, k, bytes));
    if (!out.add(std::move(row), bytes, used, q) && !q.mutating) break;
  }
  if (q.mutating) out.affected = sqlite3_changes64(db);
}

}  // namespace

sql_rows run_sqlite(const std::string& path, const sql_query& q) {
  sql_rows out;
  db_handle db;
  const int flags =
      (q.mutating ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &db.db, flags, nullptr) != SQLITE_OK) {
    out.error =
        "cannot open " + path + ": " + (db.db != nullptr ? sqlite3_errmsg(db.db) : "out of memory");
    return out;
  }
  auto deadline = steady::now() + q.timeout;
  sqlite3_progress_handler(db.db, 1000, past_deadline, &deadline);
  sqlite3_busy_timeout(db.db, static_cast<int>(std::min<long long>(q.timeout.count(), 2000)));
  if (!q.mutating && !exec(db.db, "PRAGMA query_only = 1")) {
    out.error = sqlite3_errmsg(db.db);
    return out;
  }
  stmt_handle stmt;
  const char* tail = nullptr;
  if (sqlite3_prepare_v2(db.db, q.text.c_str(), static_cast<int>(q.text.size()), &stmt.stmt,
                         &tail) != SQLITE_OK) {
    out.error = sqlite3_errmsg(db.db);
    return out;
  }
  if (tail != nullptr && std::string(tail).find_first_not_of(" \t\r\n;") != std::string::npos) {
    out.error = "a SQL tool runs one statement";
    return out;
  }
  if (!q.mutating && sqlite3_stmt_readonly(stmt.stmt) == 0) {
    out.error = "this tool is read-only and its query writes (declare `mutating: true`)";
    return out;
  }
  for (std::size_t i = 0; i < q.params.size(); ++i)
    bind(stmt.stmt, static_cast<int>(i + 1), q.params[i]);
  if (q.mutating && !exec(db.db, "BEGIN IMMEDIATE")) {
    out.error = sqlite3_errmsg(db.db);
    return out;
  }
  read_rows(db.db, stmt.stmt, q, out);
  sqlite3_reset(stmt.stmt);
  if (q.mutating) exec(db.db, out.error.empty() ? "COMMIT" : "ROLLBACK");
  return out;
}

}  // namespace manifold::exec::detail
