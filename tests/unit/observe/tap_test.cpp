// The traffic tap: records, filters, redaction, bounded rings that lose records (and say so)
// instead of slowing the producer, and the rotating file sink.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "manifold/observe/metrics.hpp"
#include "manifold/observe/tap.hpp"

namespace manifold::observe {
namespace {

using json = nlohmann::json;

json call(int id, const std::string& tool = "everything__echo") {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"method", "tools/call"},
          {"params", {{"name", tool}, {"arguments", {{"text", "hi"}}}}}};
}

TEST(tap, records_what_is_published) {
  tap t;
  EXPECT_FALSE(t.active());
  auto sub = t.subscribe({}, 16);
  EXPECT_TRUE(t.active());
  t.publish(tap_direction::host_to_manifold, "s-1", "", call(4));
  t.publish(tap_direction::upstream_to_manifold, "s-1", "everything",
            json{{"jsonrpc", "2.0"}, {"id", "m-9"}, {"result", json::object()}}, "tools/call");
  const auto got = sub->take();
  ASSERT_EQ(got.size(), 2U);
  EXPECT_EQ(got[0]->type, tap_record::kind::message);
  EXPECT_EQ(got[0]->direction, tap_direction::host_to_manifold);
  EXPECT_EQ(got[0]->session, "s-1");
  EXPECT_EQ(got[0]->method, "tools/call");
  EXPECT_EQ(got[0]->id, 4);
  EXPECT_EQ(got[0]->message, call(4));
  EXPECT_GT(got[0]->time_unix_nanos, 0U);
  EXPECT_EQ(got[1]->upstream, "everything");
  EXPECT_EQ(got[1]->method, "tools/call");
  EXPECT_EQ(got[1]->id, "m-9");
  EXPECT_LT(got[0]->seq, got[1]->seq);
  const auto line = to_json(*got[1]);
  EXPECT_EQ(line["type"], "message");
  EXPECT_EQ(line["direction"], "upstream->manifold");
  EXPECT_EQ(line["upstream"], "everything");
  EXPECT_EQ(line["id"], "m-9");
  EXPECT_EQ(to_string(tap_direction::manifold_to_upstream), "manifold->upstream");
  EXPECT_EQ(to_string(tap_direction::manifold_to_host), "manifold->host");
}

TEST(tap, filters_by_session_upstream_and_method_glob) {
  tap t;
  auto by_session = t.subscribe({.session = "s-2"}, 16);
  auto by_upstream = t.subscribe({.upstream = "docs"}, 16);
  auto by_method = t.subscribe({.method = "tools/*"}, 16);
  t.publish(tap_direction::host_to_manifold, "s-1", "", call(1));
  t.publish(tap_direction::manifold_to_upstream, "s-2", "docs",
            json{{"jsonrpc", "2.0"}, {"id", 2}, {"method", "resources/read"}});
  t.publish(tap_direction::host_to_manifold, "s-2", "", json{{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}});
  EXPECT_EQ(by_session->take().size(), 2U);
  EXPECT_EQ(by_upstream->take().size(), 1U);
  const auto tools = by_method->take();
  ASSERT_EQ(tools.size(), 1U);
  EXPECT_EQ(tools[0]->id, 1);
  EXPECT_TRUE(glob_match("tools/*", "tools/call"));
  EXPECT_TRUE(glob_match("*list*", "notifications/tools/list_changed"));
  EXPECT_TRUE(glob_match("p?ng", "ping"));
  EXPECT_FALSE(glob_match("tools/*", "prompts/get"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_FALSE(glob_match("?", ""));
}

TEST(tap, redacts_secrets_by_default_and_uses_the_given_redactor) {
  tap t;
  auto sub = t.subscribe({}, 4);
  const json message{{"jsonrpc", "2.0"},
                     {"id", 1},
                     {"method", "tools/call"},
                     {"params",
                      {{"name", "x"},
                       {"arguments", {{"api_key", "sk-123"}, {"note", "use Bearer abc.def and go"},
                                      {"nested", {{"Password", "hunter2"}, {"ok", 1}}}}},
                       {"_meta", {{"progressToken", "p-1"}}}}}};
  t.publish(tap_direction::host_to_manifold, "s", "", message);
  const auto got = sub->take();
  ASSERT_EQ(got.size(), 1U);
  const auto& args = got[0]->message["params"]["arguments"];
  EXPECT_EQ(args["api_key"], "[redacted]");
  EXPECT_EQ(args["note"], "use Bearer [redacted] and go");
  EXPECT_EQ(args["nested"]["Password"], "[redacted]");
  EXPECT_EQ(args["nested"]["ok"], 1);
  EXPECT_EQ(got[0]->message["params"]["_meta"]["progressToken"], "p-1");
  const auto cut = redact_secrets(json(std::string(100, 'x')), 10);
  EXPECT_EQ(cut, "xxxxxxxxxx...(+90 bytes)");
  json deep = 1;
  for (int i = 0; i < 40; ++i) deep = json::array({deep});
  EXPECT_NE(redact_secrets(deep).dump().find("[too deep]"), std::string::npos);

  int calls = 0;
  tap custom({.redact = [&calls](const json&) {
    ++calls;
    return json("hidden");
  }});
  custom.publish(tap_direction::host_to_manifold, "s", "", message);  // nobody listens
  EXPECT_EQ(calls, 0);
  auto s2 = custom.subscribe({}, 4);
  custom.publish(tap_direction::host_to_manifold, "s", "", message);
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(s2->take()[0]->message, "hidden");
}

TEST(tap, a_subscriber_that_never_reads_loses_records_and_is_told_how_many) {
  metrics m;
  tap t({.counters = &m});
  int wakes = 0;
  auto stuck = t.subscribe({}, 8, [&wakes] { ++wakes; });
  auto reader = t.subscribe({}, 4);
  std::size_t read = 0;
  constexpr int total = 100000;
  for (int i = 0; i < total; ++i) {
    t.publish(tap_direction::host_to_manifold, "s", "", call(i));
    read += reader->take().size();  // a reader that keeps up loses nothing
  }
  EXPECT_EQ(read, static_cast<std::size_t>(total));
  EXPECT_EQ(reader->lost_total(), 0U);
  EXPECT_EQ(wakes, 2);  // empty -> not empty, then a quarter full; never once per record
  EXPECT_EQ(stuck->pending(), 8U);
  EXPECT_EQ(stuck->lost_total(), static_cast<std::uint64_t>(total - 8));
  const auto got = stuck->take();
  ASSERT_EQ(got.size(), 9U);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(got[static_cast<std::size_t>(i)]->id, i);
  EXPECT_EQ(got[8]->type, tap_record::kind::lost);
  EXPECT_EQ(got[8]->lost, static_cast<std::uint64_t>(total - 8));
  EXPECT_EQ(to_json(*got[8])["count"], total - 8);
  EXPECT_NE(m.serialize().find("manifold_tap_records_lost_total " + std::to_string(total - 8)), std::string::npos);
}

TEST(tap, a_gap_is_marked_where_it_happened) {
  tap t;
  auto sub = t.subscribe({}, 4);
  for (int i = 0; i < 6; ++i) t.publish(tap_direction::host_to_manifold, "s", "", call(i));  // 4 kept, 2 lost
  auto first = sub->take(2);
  ASSERT_EQ(first.size(), 2U);
  EXPECT_EQ(first[1]->id, 1);
  t.publish(tap_direction::host_to_manifold, "s", "", call(6));  // lost marker + 6
  t.publish(tap_direction::host_to_manifold, "s", "", call(7));  // full again: lost
  const auto rest = sub->take();
  ASSERT_EQ(rest.size(), 5U);
  EXPECT_EQ(rest[0]->id, 2);
  EXPECT_EQ(rest[1]->id, 3);
  EXPECT_EQ(rest[2]->type, tap_record::kind::lost);
  EXPECT_EQ(rest[2]->lost, 2U);
  EXPECT_EQ(rest[3]->id, 6);
  EXPECT_EQ(rest[4]->type, tap_record::kind::lost);
  EXPECT_EQ(rest[4]->lost, 1U);
  EXPECT_TRUE(sub->take().empty());
}

TEST(tap, the_reader_is_woken_when_records_arrive_and_again_at_a_quarter_full) {
  tap t;
  int woken = 0;
  auto sub = t.subscribe({}, 16, [&woken] { ++woken; });
  t.publish(tap_direction::host_to_manifold, "s", "", call(1));
  EXPECT_EQ(woken, 1) << "empty -> not empty";
  for (int i = 2; i <= 3; ++i) t.publish(tap_direction::host_to_manifold, "s", "", call(i));
  EXPECT_EQ(woken, 1) << "records gather without waking the reader";
  t.publish(tap_direction::host_to_manifold, "s", "", call(4));
  EXPECT_EQ(woken, 2) << "a quarter full: the reader should not wait longer";
  for (int i = 5; i <= 18; ++i) t.publish(tap_direction::host_to_manifold, "s", "", call(i));
  EXPECT_EQ(woken, 2);
  EXPECT_EQ(sub->take().size(), 17U) << "16 records and the lost marker";
  t.publish(tap_direction::host_to_manifold, "s", "", call(19));
  EXPECT_EQ(woken, 3);
}

TEST(tap, subscriptions_end_with_their_last_reference) {
  tap t;
  auto a = t.subscribe({}, 4);
  EXPECT_EQ(t.subscribers(), 1U);
  a.reset();
  EXPECT_EQ(t.subscribers(), 0U);
  t.publish(tap_direction::host_to_manifold, "s", "", call(1));
  EXPECT_FALSE(t.active());
}

class tap_file : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("manifold-tap-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  std::filesystem::path dir_;
};

TEST_F(tap_file, writes_json_lines_and_rotates_by_size) {
  const auto path = (dir_ / "traffic.jsonl").string();
  auto sink = std::make_shared<tap_file_sink>(path, 2000, 3);
  tap t;
  t.set_file_sink(sink);
  EXPECT_TRUE(t.active());
  for (int i = 0; i < 60; ++i) t.publish(tap_direction::host_to_manifold, "s", "", call(i));
  EXPECT_TRUE(std::filesystem::exists(path));
  EXPECT_TRUE(std::filesystem::exists(path + ".1"));
  EXPECT_TRUE(std::filesystem::exists(path + ".2"));
  EXPECT_FALSE(std::filesystem::exists(path + ".3"));
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600U);
  int last = -1;
  for (const auto& file : {path + ".2", path + ".1", path}) {
    EXPECT_LE(std::filesystem::file_size(file), 2000U);
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      const auto j = json::parse(line);
      EXPECT_EQ(j["type"], "message");
      EXPECT_GT(j["id"].get<int>(), last);  // oldest file first, in order
      last = j["id"].get<int>();
    }
  }
  EXPECT_EQ(last, 59);
  t.set_file_sink(nullptr);
  EXPECT_FALSE(t.active());
  EXPECT_THROW(tap_file_sink((dir_ / "no/such/dir/f").string(), 1000, 2), std::runtime_error);
}

TEST_F(tap_file, one_file_starts_over) {
  const auto path = (dir_ / "t.jsonl").string();
  tap_file_sink sink(path, 600, 1);
  tap_record r;
  r.message = call(1);
  for (int i = 0; i < 20; ++i) sink.write(r);
  EXPECT_LE(std::filesystem::file_size(path), 600U);
  EXPECT_FALSE(std::filesystem::exists(path + ".1"));
}

}  // namespace
}  // namespace manifold::observe
