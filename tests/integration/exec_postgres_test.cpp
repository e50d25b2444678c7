// SQL tools against a real PostgreSQL: the test starts its own cluster (Debian's postgresql
// binaries, initdb in a temporary directory, a loopback port, run as the `postgres` user when
// the test runs as root) and drives an exec server over its channel.
#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>

#include "../unit/exec/exec_test_support.hpp"

namespace manifold::exec {
namespace {

using json = nlohmann::json;
using test::is_error;
using test::text_of;
namespace fs = std::filesystem;

// Runs argv (no shell) as `uid` when set, output to `log`; returns the exit status.
int run_as(const std::vector<std::string>& argv, const passwd* user, const std::string& log) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (fd >= 0) {
      ::dup2(fd, 1);
      ::dup2(fd, 2);
    }
    if (user != nullptr && (::setgid(user->pw_gid) != 0 || ::setuid(user->pw_uid) != 0))
      ::_exit(126);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));  // NOLINT
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

int free_port() {
  const int s = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a);  // NOLINT
  socklen_t n = sizeof a;
  ::getsockname(s, reinterpret_cast<sockaddr*>(&a), &n);  // NOLINT
  ::close(s);
  return ntohs(a.sin_port);
}

// One throwaway cluster for the whole suite.
class cluster {
 public:
  cluster() {
    for (const auto& version : fs::directory_iterator("/usr/lib/postgresql", error_)) {
      if (fs::exists(version.path() / "bin" / "pg_ctl")) bin_ = version.path() / "bin";
    }
    if (bin_.empty()) return;
    user_ = ::geteuid() == 0 ? ::getpwnam("postgres") : nullptr;
    if (::geteuid() == 0 && user_ == nullptr) return;
    std::string tmpl = (fs::temp_directory_path() / "manifold-pg-XXXXXX").string();
    dir_ = ::mkdtemp(tmpl.data());
    if (user_ != nullptr && ::chown(dir_.c_str(), user_->pw_uid, user_->pw_gid) != 0) return;
    const auto log = (dir_ / "log").string();
    if (run_as({(bin_ / "initdb").string(), "-D", (dir_ / "data").string(), "-A", "trust", "-U",
                "manifold", "--no-sync", "-E", "UTF8", "--locale=C"},
               user_, log) != 0) {
      return;
    }
    for (int attempt = 0; attempt < 3 && port_ == 0; ++attempt) {
      const int port = free_port();
      const auto options = "-p " + std::to_string(port) + " -k " + dir_.string() +
                           " -c listen_addresses=127.0.0.1 -c fsync=off";
      if (run_as({(bin_ / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-l",
                  (dir_ / "server.log").string(), "-o", options, "-w", "-t", "60", "start"},
                 user_, log) == 0) {
        port_ = port;
      }
    }
  }
  ~cluster() {
    if (port_ != 0) {
      run_as({(bin_ / "pg_ctl").string(), "-D", (dir_ / "data").string(), "-m", "immediate", "-w",
              "stop"},
             user_, (dir_ / "log").string());
    }
    if (!dir_.empty()) fs::remove_all(dir_, error_);
  }
  [[nodiscard]] bool up() const { return port_ != 0; }
  [[nodiscard]] std::string dsn() const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=manifold dbname=postgres";
  }
  [[nodiscard]] std::string dir() const { return dir_.string(); }

 private:
  fs::path bin_;
  fs::path dir_;
  const passwd* user_ = nullptr;
  int port_ = 0;
  std::error_code error_;
};

cluster* pg = nullptr;

class postgres_tools : public ::testing::Test {
 public:
  static void SetUpTestSuite() {
    pg = new cluster();  // NOLINT(cppcoreguidelines-owning-memory): one per suite
    if (!pg->up()) return;
    PGconn* conn = PQconnectdb(pg->dsn().c_str());
    PGresult* r = PQexec(conn, R"(
      CREATE TABLE deploys (id serial PRIMARY KEY, service text NOT NULL, version text NOT NULL, ok boolean NOT NULL,
                            cost numeric(10, 2), meta jsonb);
      INSERT INTO deploys (service, version, ok, cost, meta) VALUES
        ('shop', '2.4.0', true, 12.50, '{"by": "ci", "pr": 812}'),
        ('shop', '2.4.1', false, NULL, '{"by": "ci", "pr": 815}'),
        ('payments', '1.8.1', true, 3.10, NULL);)");
    EXPECT_EQ(PQresultStatus(r), PGRES_COMMAND_OK) << PQresultErrorMessage(r);
    PQclear(r);
    PQfinish(conn);
  }
  static void TearDownTestSuite() {
    delete pg;  // NOLINT(cppcoreguidelines-owning-memory)
    pg = nullptr;
  }
  void SetUp() override {
    if (!pg->up()) GTEST_SKIP() << "no PostgreSQL server binaries (Debian package postgresql)";
    ::setenv("MANIFOLD_TEST_PG_DSN", pg->dsn().c_str(), 1);
    c = std::make_unique<test::client>(test::server_from(R"yaml(
servers:
  ops:
    exec:
      sql: {driver: postgres, dsn_env: MANIFOLD_TEST_PG_DSN}
      tools:
        deploys:
          sql: {query: "SELECT id, service, version, ok, cost, meta FROM deploys WHERE service = $1 ORDER BY id LIMIT $2", bind: [service, limit]}
          params:
            service: {type: string, maxLength: 64, required: true}
            limit: {type: integer, minimum: 1, maximum: 100, default: 10}
        numbers:
          sql: {query: "SELECT n, repeat('x', 100) AS pad FROM generate_series(1, 1000) AS n", max_rows: 3}
        wide:
          sql: {query: "SELECT n, repeat('x', 100) AS pad FROM generate_series(1, 1000) AS n", max_rows: 1000}
          output: {max_bytes: 1KiB}
        sneaky_insert:
          sql: {query: "INSERT INTO deploys (service, version, ok) VALUES ($1, 'x', true)", bind: [service]}
          params: {service: {type: string, maxLength: 64, required: true}}
        record_deploy:
          sql: {query: "INSERT INTO deploys (service, version, ok) VALUES ($1, $2, $3) RETURNING id", bind: [service, version, ok], mutating: true}
          params:
            service: {type: string, maxLength: 64, required: true}
            version: {type: string, maxLength: 32, required: true}
            ok: {type: boolean, default: true}
        slow:
          sql: {query: "SELECT pg_sleep($1)", bind: [seconds]}
          params: {seconds: {type: number, minimum: 0, maximum: 60, required: true}}
          timeout: 500ms
        slow_cancellable:
          sql: {query: "SELECT pg_sleep(30)"}
          timeout: 60s
)yaml"));
  }
  std::unique_ptr<test::client> c;
};

TEST_F(postgres_tools, bound_parameters_typed_results_and_a_text_table) {
  const auto r = c->call("deploys", {{"service", "shop"}});
  ASSERT_FALSE(is_error(r)) << r.dump();
  const auto& s = r["result"]["structuredContent"];
  EXPECT_EQ(s["columns"], json::array({"id", "service", "version", "ok", "cost", "meta"}));
  EXPECT_EQ(s["rows"][0],
            json::parse(R"([1, "shop", "2.4.0", true, "12.50", {"by": "ci", "pr": 812}])"));
  EXPECT_EQ(s["rows"][1][4], nullptr);
  EXPECT_EQ(s["row_count"], 2);
  EXPECT_NE(text_of(r).find("2  | shop    | 2.4.1   | false | NULL"), std::string::npos)
      << text_of(r);
}

TEST_F(postgres_tools, injection_attempts_are_data) {
  for (const auto* attempt :
       {"shop' OR '1'='1", "x'; DROP TABLE deploys; --", "$1", "shop\\' OR 1=1 --"}) {
    const auto r = c->call("deploys", {{"service", attempt}});
    ASSERT_FALSE(is_error(r)) << r.dump();
    EXPECT_EQ(r["result"]["structuredContent"]["row_count"], 0) << attempt;
  }
  EXPECT_EQ(
      c->call("deploys", {{"service", "payments"}})["result"]["structuredContent"]["row_count"], 1);
  EXPECT_TRUE(
      is_error(c->call("deploys", {{"service", "shop"}, {"limit", "1; DROP TABLE deploys"}})));
}

TEST_F(postgres_tools, read_only_unless_declared_mutating) {
  const auto sneaky = c->call("sneaky_insert", {{"service", "evil"}});
  EXPECT_TRUE(is_error(sneaky));
  EXPECT_NE(text_of(sneaky).find("read-only transaction"), std::string::npos) << text_of(sneaky);
  const auto recorded = c->call("record_deploy", {{"service", "search"}, {"version", "0.9.0"}});
  ASSERT_FALSE(is_error(recorded)) << recorded.dump();
  EXPECT_EQ(recorded["result"]["structuredContent"]["rows"][0][0], 4);
  EXPECT_EQ(c->call("deploys", {{"service", "search"}})["result"]["structuredContent"]["row_count"],
            1);
  EXPECT_EQ(c->call("deploys", {{"service", "evil"}})["result"]["structuredContent"]["row_count"],
            0);
}

TEST_F(postgres_tools, row_and_byte_caps) {
  const auto rows = c->call("numbers", json::object());
  EXPECT_EQ(rows["result"]["structuredContent"]["row_count"], 3);
  EXPECT_EQ(rows["result"]["structuredContent"]["truncated"], true);
  EXPECT_NE(text_of(rows).find("more rows than the cap of 3"), std::string::npos);
  const auto bytes = c->call("wide", json::object());
  EXPECT_EQ(bytes["result"]["structuredContent"]["truncated"], true);
  EXPECT_LT(bytes["result"]["structuredContent"]["row_count"].get<int>(), 11);
}

TEST_F(postgres_tools, a_query_past_its_statement_timeout_is_stopped) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = c->call("slow", {{"seconds", 5}});
  EXPECT_TRUE(is_error(r));
  EXPECT_NE(text_of(r).find("ran past its timeout of 500ms"), std::string::npos) << text_of(r);
  EXPECT_NE(text_of(r).find("statement timeout"), std::string::npos) << text_of(r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(3));
  EXPECT_FALSE(is_error(c->call("slow", {{"seconds", 0.01}})));
}

TEST_F(postgres_tools, host_cancel_abandons_the_query) {
  const auto id =
      c->send_request("tools/call", {{"name", "slow_cancellable"}, {"arguments", json::object()}});
  ASSERT_TRUE(c->run_until([&] { return c->server().running() == 1; }));
  c->send(protocol::make_notification("notifications/cancelled", {{"requestId", id}}));
  EXPECT_TRUE(c->run_until([&] { return c->server().running() == 0; }, std::chrono::seconds(5)));
}

TEST_F(postgres_tools, credentials_from_a_file) {
  const auto file = pg->dir() + "/dsn";
  std::ofstream(file) << pg->dsn() << '\n';
  test::client other(test::server_from(test::replace_all(R"yaml(
servers:
  ops:
    exec:
      sql: {driver: postgres, dsn_file: "@FILE@"}
      tools:
        count: {sql: {query: "SELECT count(*) AS n FROM deploys WHERE ok"}}
)yaml",
                                                         "@FILE@", file)));
  const auto r = other.call("count", json::object());
  ASSERT_FALSE(is_error(r)) << r.dump();
  EXPECT_GE(r["result"]["structuredContent"]["rows"][0][0].get<int>(), 2);
}

}  // namespace
}  // namespace manifold::exec
