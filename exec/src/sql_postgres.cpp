// PostgreSQL through libpq's asynchronous API: the connection's socket is registered with
// Asio (a duplicate descriptor, so libpq keeps ownership of its own), and every step waits
// for readiness with a deadline. Nothing blocks the io thread; there is no worker thread.
#include <libpq-fe.h>
#include <unistd.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <cstdlib>

#include "manifold/protocol/json_access.hpp"
#include "sql.hpp"

namespace manifold::exec::detail {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {

constexpr auto client_margin = std::chrono::seconds(2);  // after the server's statement_timeout
constexpr std::size_t max_value_depth = 64;

// One connection and the Asio view of its socket. Thread: the io thread.
class pg_session {
 public:
  pg_session(asio::any_io_executor executor, steady::time_point deadline)
      : executor_(std::move(executor)), deadline_(deadline), timer_(executor_) {}
  ~pg_session() {
    release();
    if (conn_ != nullptr) PQfinish(conn_);
  }
  pg_session(const pg_session&) = delete;
  pg_session& operator=(const pg_session&) = delete;

  PGconn* conn() { return conn_; }
  void adopt(PGconn* conn) { conn_ = conn; }
  bool cancelled = false;
  bool timed_out = false;

  void cancel() {
    cancelled = true;
    if (socket_) socket_->cancel();
    timer_.cancel();
  }

  // Waits until the socket is readable (or writable); false at the deadline or on cancel.
  asio::awaitable<bool> wait(bool writable) {
    if (!track_socket()) co_return false;
    timer_.expires_at(deadline_);
    timer_.async_wait([this, alive = alive_](const boost::system::error_code& ec) {
      if (ec || !*alive) return;
      timed_out = true;
      if (socket_) socket_->cancel();
    });
    auto [ec] = co_await socket_->async_wait(writable ? asio::posix::stream_descriptor::wait_write
                                                      : asio::posix::stream_descriptor::wait_read,
                                             asio::as_tuple(asio::use_awaitable));
    timer_.cancel();
    co_return !ec && !cancelled && !timed_out;
  }

 private:
  // (Re)registers libpq's current socket: it changes while a connection tries hosts.
  bool track_socket() {
    const int fd = PQsocket(conn_);
    if (fd < 0) return false;
    if (fd == fd_ && socket_) return true;
    release();
    const int copy = ::dup(fd);
    if (copy < 0) return false;
    socket_ = std::make_unique<asio::posix::stream_descriptor>(executor_, copy);
    fd_ = fd;
    return true;
  }
  void release() {
    *alive_ = false;
    alive_ = std::make_shared<bool>(true);
    socket_.reset();
    fd_ = -1;
  }

  asio::any_io_executor executor_;
  steady::time_point deadline_;
  asio::steady_timer timer_;
  std::unique_ptr<asio::posix::stream_descriptor> socket_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  int fd_ = -1;
  PGconn* conn_ = nullptr;
};

std::string why(PGconn* conn) {
  std::string message = PQerrorMessage(conn);
  while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
  return message;
}

asio::awaitable<std::string> connect(pg_session& s, const std::string& conninfo) {
  s.adopt(PQconnectStart(conninfo.c_str()));
  if (s.conn() == nullptr) co_return "libpq could not allocate a connection";
  if (PQstatus(s.conn()) == CONNECTION_BAD) co_return why(s.conn());
  auto state = PGRES_POLLING_WRITING;
  while (state != PGRES_POLLING_OK) {
    if (state == PGRES_POLLING_FAILED) co_return why(s.conn());
    const bool ready = co_await s.wait(state == PGRES_POLLING_WRITING);
    if (!ready) co_return "no connection within the timeout";
    state = PQconnectPoll(s.conn());
  }
  PQsetnonblocking(s.conn(), 1);
  co_return std::string();
}

// Sends what libpq has buffered.
asio::awaitable<bool> flush(pg_session& s) {
  while (true) {
    const int r = PQflush(s.conn());
    if (r == 0) co_return true;
    if (r < 0) co_return false;
    const bool ready = co_await s.wait(true);
    if (!ready) co_return false;
  }
}

// The next result, reading as needed; nullptr once the command's results are done (or on
// failure: `ok` false).
asio::awaitable<PGresult*> next_result(pg_session& s, bool& ok) {
  ok = true;
  while (PQisBusy(s.conn()) != 0) {
    const bool ready = co_await s.wait(false);
    if (!ready || PQconsumeInput(s.conn()) == 0) {
      ok = false;
      co_return nullptr;
    }
  }
  co_return PQgetResult(s.conn());
}

// Runs a command without rows (BEGIN, SET, COMMIT). Empty when it succeeded.
asio::awaitable<std::string> command(pg_session& s, const std::string& sql) {
  if (PQsendQuery(s.conn(), sql.c_str()) == 0) co_return why(s.conn());
  const bool sent = co_await flush(s);
  if (!sent) co_return why(s.conn());
  std::string error;
  bool ok = true;
  while (PGresult* r = co_await next_result(s, ok)) {
    if (PQresultStatus(r) != PGRES_COMMAND_OK && error.empty()) error = PQresultErrorMessage(r);
    PQclear(r);
  }
  if (!ok && error.empty()) error = s.timed_out ? "timed out" : "the connection failed";
  co_return error;
}

json value_of(const PGresult* r, int row, int col, std::size_t& bytes) {
  if (PQgetisnull(r, row, col) != 0) return nullptr;
  const std::string text(PQgetvalue(r, row, col),
                         static_cast<std::size_t>(PQgetlength(r, row, col)));
  bytes += text.size();
  switch (PQftype(r, col)) {
    case 16:  // bool
      return text == "t";
    case 20:
    case 21:
    case 23: {  // int8, int2, int4
      auto parsed = protocol::parse_json(text, 1);
      return parsed.ok() ? parsed.value : json(text);
    }
    case 700:
    case 701:  // float4, float8
      return std::strtod(text.c_str(), nullptr);
    case 114:
    case 3802: {  // json, jsonb
      auto parsed = protocol::parse_json(text, max_value_depth);
      return parsed.ok() ? parsed.value : json(text);
    }
    default:  // numeric stays text: exact
      return text;
  }
}

std::vector<std::string> text_params(const std::vector<json>& params) {
  std::vector<std::string> out;
  for (const auto& p : params)
    out.push_back(p.is_string()    ? p.get<std::string>()
                  : p.is_boolean() ? (p.get<bool>() ? "true" : "false")
                                   : p.dump());
  return out;
}

// The query itself, in single-row mode. Returns false when reading stopped early.
asio::awaitable<bool> query(pg_session& s, const sql_query& q, sql_rows& out) {
  const auto texts = text_params(q.params);
  std::vector<const char*> values;
  for (std::size_t i = 0; i < q.params.size(); ++i)
    values.push_back(q.params[i].is_null() ? nullptr : texts[i].c_str());
  if (PQsendQueryParams(s.conn(), q.text.c_str(), static_cast<int>(values.size()), nullptr,
                        values.data(), nullptr, nullptr, 0) == 0) {
    out.error = why(s.conn());
    co_return true;
  }
  PQsetSingleRowMode(s.conn());
  const bool sent = co_await flush(s);
  if (!sent) {
    out.error = why(s.conn());
    co_return true;
  }
  std::size_t used = 0;
  bool ok = true;
  while (PGresult* r = co_await next_result(s, ok)) {
    const auto status = PQresultStatus(r);
    if (out.columns.empty() && (status == PGRES_SINGLE_TUPLE || status == PGRES_TUPLES_OK)) {
      for (int k = 0; k < PQnfields(r); ++k) out.columns.emplace_back(PQfname(r, k));
    }
    if (status == PGRES_SINGLE_TUPLE) {
      json row = json::array();
      std::size_t bytes = 0;
      for (int k = 0; k < PQnfields(r); ++k) row.push_back(value_of(r, 0, k, bytes));
      if (!out.add(std::move(row), bytes, used, q) && !q.mutating) {
        PQclear(r);
        co_return false;  // a read-only query need not be read to its end
      }
    } else if (status == PGRES_COMMAND_OK) {
      out.affected = std::atoll(PQcmdTuples(r));
    } else if (status != PGRES_TUPLES_OK && out.error.empty()) {
      const char* state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      out.timed_out = state != nullptr && std::string(state) == "57014";
      out.error = PQresultErrorMessage(r);
      while (!out.error.empty() && out.error.back() == '\n') out.error.pop_back();
    }
    PQclear(r);
  }
  if (!ok && out.error.empty())
    out.error = s.timed_out ? "no answer within the timeout" : "the connection failed";
  co_return true;
}

}  // namespace

asio::awaitable<sql_rows> run_postgres(asio::any_io_executor executor, std::string conninfo,
                                       sql_query q, std::shared_ptr<process_control> control) {
  sql_rows out;
  pg_session s(executor, steady::now() + q.timeout + client_margin);
  if (control) control->cancel = [&s] { s.cancel(); };
  // Sequential statements only: GCC 12 miscompiles co_await inside conditions (SIGILL).
  std::string error = co_await connect(s, conninfo);
  if (error.empty())
    error = co_await command(s, q.mutating ? "BEGIN" : "BEGIN TRANSACTION READ ONLY");
  if (error.empty())
    error =
        co_await command(s, "SET LOCAL statement_timeout = " + std::to_string(q.timeout.count()));
  bool finished = false;
  if (error.empty()) {
    finished = co_await query(s, q, out);
  } else {
    out.error = std::move(error);
  }
  if (finished && !s.timed_out && !s.cancelled) {
    const bool commit = q.mutating && out.error.empty();
    std::string end_error = co_await command(s, commit ? "COMMIT" : "ROLLBACK");
    if (!end_error.empty() && out.error.empty()) out.error = std::move(end_error);
  }
  if (control) control->cancel = nullptr;
  out.cancelled = s.cancelled;
  out.timed_out = out.timed_out || s.timed_out;
  co_return out;  // the session's destructor closes the connection (an open transaction rolls back)
}

}  // namespace manifold::exec::detail
