// SQL tools on SQLite: parameters bound (never spliced), read-only unless declared mutating,
// caps on rows and bytes, a query that runs past its timeout is interrupted.
#include <gtest/gtest.h>
#include <sqlite3.h>

#include "exec_test_support.hpp"

namespace manifold::exec {
namespace {

using json = nlohmann::json;
using test::is_error;
using test::text_of;

struct sqlite_tools : ::testing::Test {
  test::scratch dir;
  std::string db = dir.path("inventory.db");
  std::unique_ptr<test::client> c;

  void SetUp() override {
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
    const char* setup = R"(
      CREATE TABLE hosts (name TEXT PRIMARY KEY, team TEXT, cpus INTEGER, cost REAL, notes TEXT);
      INSERT INTO hosts VALUES ('web-1', 'shop', 4, 121.5, NULL), ('web-2', 'shop', 4, 121.5, 'canary'),
        ('db-1', 'data', 16, 880.0, 'primary'), ('batch-1', 'ops', 2, 33.25, NULL);
      CREATE TABLE audit (entry TEXT);)";
    ASSERT_EQ(sqlite3_exec(h, setup, nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(h);
    c = std::make_unique<test::client>(test::server_from(test::replace_all(R"yaml(
servers:
  inventory:
    exec:
      sql: {driver: sqlite, path: "@DB@"}
      tools:
        hosts_by_team:
          sql: {query: "SELECT name, cpus, cost, notes FROM hosts WHERE team = ?1 ORDER BY name", bind: [team], max_rows: 2}
          params:
            team: {type: string, maxLength: 64, required: true}
        host_count:
          sql: {query: "SELECT count(*) AS n FROM hosts WHERE cpus >= ?1", bind: [min_cpus]}
          params:
            min_cpus: {type: integer, minimum: 0, default: 0}
        sneaky:
          sql: {query: "INSERT INTO audit VALUES (?1)", bind: [entry]}
          params:
            entry: {type: string, maxLength: 64, required: true}
        record:
          sql: {query: "INSERT INTO audit VALUES (?1)", bind: [entry], mutating: true}
          params:
            entry: {type: string, maxLength: 64, required: true}
        audit:
          sql: {query: "SELECT entry FROM audit"}
          output: {max_bytes: 40}
        forever:
          sql: {query: "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c"}
          timeout: 300ms
)yaml",
                                                                           "@DB@", db)));
  }
};

TEST_F(sqlite_tools, parameters_are_bound_and_results_are_tables) {
  const auto r = c->call("hosts_by_team", {{"team", "shop"}});
  ASSERT_FALSE(is_error(r)) << r.dump();
  const auto& s = r["result"]["structuredContent"];
  EXPECT_EQ(s["columns"], json::array({"name", "cpus", "cost", "notes"}));
  EXPECT_EQ(s["rows"],
            json::parse(R"([["web-1", 4, 121.5, null], ["web-2", 4, 121.5, "canary"]])"));
  EXPECT_EQ(s["truncated"], false);
  EXPECT_NE(text_of(r).find("web-2 | 4    | 121.5 | canary"), std::string::npos) << text_of(r);
  EXPECT_EQ(c->call("host_count", {{"min_cpus", 4}})["result"]["structuredContent"]["rows"],
            json::parse("[[3]]"));
}

TEST_F(sqlite_tools, injection_in_parameters_stays_data) {
  for (const auto* attempt : {"shop' OR '1'='1", "x'; DROP TABLE hosts; --", "shop\" OR 1=1 --"}) {
    const auto r = c->call("hosts_by_team", {{"team", attempt}});
    ASSERT_FALSE(is_error(r)) << r.dump();
    EXPECT_EQ(r["result"]["structuredContent"]["row_count"], 0) << attempt;
  }
  EXPECT_EQ(c->call("host_count", json::object())["result"]["structuredContent"]["rows"],
            json::parse("[[4]]"));
  EXPECT_TRUE(is_error(c->call("host_count", {{"min_cpus", "1 OR 1=1"}})));
}

TEST_F(sqlite_tools, read_only_unless_mutating_and_capped) {
  const auto sneaky = c->call("sneaky", {{"entry", "x"}});
  EXPECT_TRUE(is_error(sneaky));
  EXPECT_NE(text_of(sneaky).find("read-only"), std::string::npos);
  for (int i = 0; i < 5; ++i) {
    const auto r = c->call("record", {{"entry", "entry number " + std::to_string(i)}});
    ASSERT_FALSE(is_error(r)) << r.dump();
    EXPECT_EQ(r["result"]["structuredContent"]["affected_rows"], 1);
  }
  const auto audit = c->call("audit", json::object());
  EXPECT_EQ(audit["result"]["structuredContent"]["truncated"], true);
  EXPECT_EQ(audit["result"]["structuredContent"]["row_count"], 2);  // 2 x 14 bytes fit in 40
  EXPECT_NE(text_of(audit).find("passed the cap of 40 bytes"), std::string::npos);
  const auto capped = c->call("hosts_by_team", {{"team", "shop"}});
  EXPECT_EQ(capped["result"]["structuredContent"]["truncated"], false);
}

TEST_F(sqlite_tools, a_query_past_its_timeout_is_interrupted) {
  const auto start = std::chrono::steady_clock::now();
  const auto r = c->call("forever", json::object());
  EXPECT_TRUE(is_error(r));
  EXPECT_NE(text_of(r).find("ran past its timeout of 300ms"), std::string::npos) << text_of(r);
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

}  // namespace
}  // namespace manifold::exec
