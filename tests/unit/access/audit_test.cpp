#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "manifold/access/audit_log.hpp"
#include "manifold/access/digest.hpp"

namespace manifold::access {
namespace {

using json = nlohmann::json;

std::string temp_file(const std::string& name) {
  const auto path = ::testing::TempDir() + "/" + name;
  std::remove(path.c_str());
  return path;
}

std::vector<std::string> lines_of(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

void write_lines(const std::string& path, const std::vector<std::string>& lines) {
  std::ofstream out(path, std::ios::trunc);
  for (const auto& line : lines) out << line << "\n";
}

audit_record call(int i, json arguments = json::object()) {
  audit_record r;
  r.time = std::chrono::system_clock::time_point(std::chrono::milliseconds(1'800'000'000'123LL + i));
  r.principal = "alice";
  r.roles = {"dev"};
  r.auth = auth_method::jwt;
  r.session = "s-1";
  r.method = "tools/call";
  r.name = "k8s__scale";
  r.upstream = "k8s";
  r.original = "scale";
  r.latency_ms = 12.3456;
  r.bytes_in = 100;
  r.bytes_out = 2000;
  r.arguments = std::move(arguments);
  return r;
}

TEST(audit, record_fields) {
  auto r = call(0, {{"namespace", "dev-a"}, {"token", "abc"}});
  r.allowed = false;
  r.rule = "dev-namespaces";
  r.outcome = audit_outcome::refused;
  const redactor redaction;
  const auto j = audit_json(r, config::audit_arguments::keys, redaction);
  EXPECT_EQ(j["time"], "2027-01-15T08:00:00.123Z");
  EXPECT_EQ(j["principal"], "alice");
  EXPECT_EQ(j["auth"], "jwt");
  EXPECT_EQ(j["roles"], json({"dev"}));
  EXPECT_EQ(j["session"], "s-1");
  EXPECT_EQ(j["method"], "tools/call");
  EXPECT_EQ(j["name"], "k8s__scale");
  EXPECT_EQ(j["upstream"], "k8s");
  EXPECT_EQ(j["original"], "scale");
  EXPECT_EQ(j["decision"], "deny");
  EXPECT_EQ(j["rule"], "dev-namespaces");
  EXPECT_EQ(j["outcome"], "refused");
  EXPECT_DOUBLE_EQ(j["latency_ms"].get<double>(), 12.345);
  EXPECT_EQ(j["bytes_out"], 2000);
  EXPECT_EQ(j["arguments"], json({"namespace", "token"}));
  EXPECT_FALSE(audit_json(r, config::audit_arguments::none, redaction).contains("arguments"));
  r.outcome = audit_outcome::error;
  r.error_code = -32001;
  EXPECT_EQ(audit_json(r, config::audit_arguments::none, redaction)["error_code"], -32001);
  EXPECT_EQ(to_string(audit_outcome::is_error), "isError");
  EXPECT_EQ(rfc3339_ms(std::chrono::system_clock::time_point(std::chrono::milliseconds(5))), "1970-01-01T00:00:00.005Z");
}

TEST(audit, redaction_of_secret_keys_and_values) {
  redactor redaction({"ssn=[0-9]+"});
  redaction.add_secret("config-secret-value-123");
  redaction.add_secret("short");
  const json args{
      {"query", "select 1"},
      {"password", "hunter2"},
      {"API-Key", "x"},
      {"nested", {{"client_secret", "s"}, {"list", {"Bearer abc.def-ghi", "ok"}}}},
      {"jwt", "see eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2ln here"},
      {"aws", "AKIAIOSFODNN7EXAMPLE"},
      {"pem", "-----BEGIN PRIVATE KEY-----\nMIIEv\n-----END PRIVATE KEY-----"},
      {"gh", "ghp_abcdefghijklmnopqrstuvwxyz0123"},
      {"dsn", "postgres://u@h/db?password=pw1&x=1"},
      {"note", "ssn=123456 and config-secret-value-123 and short"},
      {"big", std::string(5000, 'x')},
  };
  const auto r = redaction.redact(args);
  EXPECT_EQ(r["query"], "select 1");
  EXPECT_EQ(r["password"], "[REDACTED]");
  EXPECT_EQ(r["API-Key"], "[REDACTED]");
  EXPECT_EQ(r["nested"]["client_secret"], "[REDACTED]");
  EXPECT_EQ(r["nested"]["list"][0], "Bearer [REDACTED]");
  EXPECT_EQ(r["nested"]["list"][1], "ok");
  EXPECT_EQ(r["jwt"], "see [REDACTED:jwt] here");
  EXPECT_EQ(r["aws"], "[REDACTED:aws-key-id]");
  EXPECT_EQ(r["pem"], "[REDACTED:pem]");
  EXPECT_EQ(r["gh"], "[REDACTED:token]");
  EXPECT_EQ(r["dsn"], "postgres://u@h/db?password=[REDACTED]&x=1");
  EXPECT_EQ(r["note"], "[REDACTED] and [REDACTED] and short");
  EXPECT_EQ(r["big"].get<std::string>().size(), 1024U + std::string("...(+3976 bytes)").size());
  // Full mode keeps values but never a registered secret.
  const auto full = redaction.scrub(args);
  EXPECT_EQ(full["password"], "hunter2");
  EXPECT_EQ(full["note"], "ssn=123456 and [REDACTED] and short");
  // Depth and width are bounded.
  json deep = "leaf";
  for (int i = 0; i < 40; ++i) deep = json::array({deep});
  EXPECT_NE(redaction.redact(deep).dump().find("[...]"), std::string::npos);
  EXPECT_TRUE(redactor::secret_key("X-Auth-Token"));
  EXPECT_TRUE(redactor::secret_key("privateKey"));
  EXPECT_FALSE(redactor::secret_key("namespace"));
}

TEST(audit, chained_jsonl_and_verification) {
  const auto path = temp_file("audit_chain.jsonl");
  std::string error;
  auto settings = audit_log::settings{path, false, config::audit_arguments::redacted, {}, ""};
  {
    auto log = audit_log::open(settings, error);
    ASSERT_NE(log, nullptr) << error;
    log->add_secret("the-identity-signing-key-0123456789");
    for (int i = 0; i < 5; ++i) log->write(call(i, {{"i", i}, {"k", "the-identity-signing-key-0123456789"}}));
    EXPECT_EQ(log->written(), 5U);
    EXPECT_TRUE(log->healthy());
  }
  auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 5U);
  EXPECT_EQ(json::parse(lines[0])["prev"], sha256_hex(""));
  EXPECT_EQ(json::parse(lines[3])["prev"], sha256_hex(lines[2]));
  EXPECT_EQ(lines[1].find("the-identity-signing-key"), std::string::npos) << "config secrets never reach the audit";
  auto check = verify_audit_file(path);
  EXPECT_TRUE(check.ok) << check.why;
  EXPECT_EQ(check.lines, 5U);
  EXPECT_EQ(check.head, sha256_hex(lines[4]));

  // Reopening continues the chain.
  {
    auto log = audit_log::open(settings, error);
    ASSERT_NE(log, nullptr) << error;
    EXPECT_EQ(log->head(), sha256_hex(lines[4]));
    log->write(call(5));
  }
  check = verify_audit_file(path);
  EXPECT_TRUE(check.ok) << check.why;
  EXPECT_EQ(check.lines, 6U);
  lines = lines_of(path);

  // One byte changed in line 3: its successor's prev no longer matches.
  auto tampered = lines;
  const auto at = tampered[2].find("alice");
  tampered[2][at] = 'A';
  write_lines(path, tampered);
  check = verify_audit_file(path);
  EXPECT_FALSE(check.ok);
  EXPECT_EQ(check.bad_line, 4U);
  EXPECT_NE(check.why.find("does not match line 3"), std::string::npos) << check.why;

  // A line removed; a line cut; the first line replaced.
  tampered = lines;
  tampered.erase(tampered.begin() + 1);
  write_lines(path, tampered);
  EXPECT_EQ(verify_audit_file(path).bad_line, 2U);
  tampered = lines;
  tampered[3].resize(20);
  write_lines(path, tampered);
  check = verify_audit_file(path);
  EXPECT_EQ(check.bad_line, 4U);
  EXPECT_NE(check.why.find("not a JSON object"), std::string::npos);
  tampered = lines;
  tampered.erase(tampered.begin());
  write_lines(path, tampered);
  check = verify_audit_file(path);
  EXPECT_EQ(check.bad_line, 1U);
  EXPECT_NE(check.why.find("removed from the start"), std::string::npos);
  EXPECT_FALSE(verify_audit_file(path + ".missing").ok);
}

TEST(audit, a_partial_last_line_is_closed_before_appending) {
  const auto path = temp_file("audit_partial.jsonl");
  {
    std::ofstream out(path);
    out << R"({"prev":"x","cut)";
  }
  std::string error;
  auto log = audit_log::open({path, false, config::audit_arguments::none, {}, ""}, error);
  ASSERT_NE(log, nullptr) << error;
  log->write(call(0));
  log.reset();
  const auto lines = lines_of(path);
  ASSERT_EQ(lines.size(), 2U);
  EXPECT_EQ(json::parse(lines[1])["prev"], sha256_hex(R"({"prev":"x","cut)"));
  EXPECT_EQ(verify_audit_file(path).bad_line, 1U);
}

TEST(audit, unopenable_file) {
  std::string error;
  EXPECT_EQ(audit_log::open({"/nonexistent-dir/audit.jsonl", false, {}, {}, ""}, error), nullptr);
  EXPECT_NE(error.find("cannot open"), std::string::npos) << error;
}

}  // namespace
}  // namespace manifold::access
