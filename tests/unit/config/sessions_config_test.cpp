// http.sessions: the key ring from a keys file or inline, its checks, and the limits.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <unistd.h>

#include "manifold/config/config_error.hpp"
#include "manifold/config/config_loader.hpp"

namespace manifold::config {
namespace {

// base64 of 32 bytes 0x00..0x1f and of 32 bytes 0xff.
constexpr const char* secret_a = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr const char* secret_b = "__________________________________________8";

env_lookup env_of(std::map<std::string, std::string> vars) {
  return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    if (it == vars.end()) return std::nullopt;
    return it->second;
  };
}

std::vector<diagnostic> errors_of(const std::string& text, const env_lookup& env = env_of({})) {
  try {
    parse_config(text, "test.yaml", env);
  } catch (const config_error& e) {
    return e.diagnostics();
  }
  return {};
}

class temp_dir {
 public:
  temp_dir() {
    path_ = std::filesystem::temp_directory_path() / ("manifold-sessions-" + std::to_string(::getpid()) + "-" +
                                                      std::to_string(counter_++));
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  std::string write(const std::string& name, const std::string& text) const {
    const auto file = path_ / name;
    std::ofstream(file) << text;
    return file.string();
  }

 private:
  static inline int counter_ = 0;
  std::filesystem::path path_;
};

TEST(sessions_config, off_by_default) {
  const auto cfg = parse_config("servers: {}\n", "c.yaml", env_of({}));
  EXPECT_FALSE(cfg.http.sessions.enabled());
  EXPECT_EQ(cfg.http.sessions.max_lifetime, std::chrono::hours(24));
  EXPECT_EQ(cfg.http.sessions.ended_sessions, 10000U);
  EXPECT_TRUE(cfg.key_files.empty());
}

TEST(sessions_config, inline_keys_from_the_environment_first_seals) {
  const auto cfg = parse_config(
      "servers: {}\nhttp:\n  sessions:\n    keys:\n      - {id: new, secret: \"${K2}\"}\n"
      "      - {id: old, secret: \"" + std::string(secret_a) + "\"}\n    max_lifetime: 2h\n"
      "    ended_sessions: 5\n    advertise: http://10.0.0.7:8080/\n",
      "c.yaml", env_of({{"K2", secret_b}}));
  ASSERT_EQ(cfg.http.sessions.keys.size(), 2U);
  EXPECT_EQ(cfg.http.sessions.keys[0].id, "new");
  EXPECT_EQ(cfg.http.sessions.keys[0].secret, std::string(32, '\xff'));
  EXPECT_EQ(cfg.http.sessions.keys[1].id, "old");
  EXPECT_EQ(cfg.http.sessions.keys[1].secret[31], '\x1f');
  EXPECT_EQ(cfg.http.sessions.max_lifetime, std::chrono::hours(2));
  EXPECT_EQ(cfg.http.sessions.ended_sessions, 5U);
  EXPECT_EQ(cfg.http.sessions.advertise, "http://10.0.0.7:8080");
}

TEST(sessions_config, keys_file_beside_the_config_is_read_and_watched) {
  temp_dir dir;
  dir.write("keys", "# rotated 2026-01-01\n\nk2 " + std::string(secret_b) + "\n  k1 " + secret_a + "\n");
  const auto file = dir.write("m.yaml", "servers: {}\nhttp:\n  sessions:\n    keys_file: keys\n");
  const auto cfg = load_config_file(file, env_of({}));
  ASSERT_EQ(cfg.http.sessions.keys.size(), 2U);
  EXPECT_EQ(cfg.http.sessions.keys[0].id, "k2");
  EXPECT_EQ(cfg.http.sessions.keys[1].id, "k1");
  ASSERT_EQ(cfg.key_files.size(), 1U);
  EXPECT_EQ(cfg.key_files[0], cfg.http.sessions.keys_file);
  EXPECT_NE(cfg.key_files[0].find("/keys"), std::string::npos);
}

TEST(sessions_config, a_bad_line_of_the_keys_file_is_named_and_its_secret_never_shown) {
  temp_dir dir;
  dir.write("keys", "k1 " + std::string(secret_a) + "\nk2 c2hvcnQtc2VjcmV0\nk1 " + secret_b + "\nbad id " + secret_a + "\n");
  const auto file = dir.write("m.yaml", "servers: {}\nhttp:\n  sessions:\n    keys_file: keys\n");
  try {
    load_config_file(file, env_of({}));
    FAIL() << "accepted";
  } catch (const config_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("keys:2:1"), std::string::npos) << what;
    EXPECT_NE(what.find("32 random bytes"), std::string::npos) << what;
    EXPECT_NE(what.find("keys:3:1"), std::string::npos) << what;
    EXPECT_NE(what.find("twice"), std::string::npos) << what;
    EXPECT_NE(what.find("keys:4:1"), std::string::npos) << what;
    EXPECT_EQ(what.find("c2hvcnQtc2VjcmV0"), std::string::npos) << "a secret in an error: " << what;
    EXPECT_EQ(what.find(secret_b), std::string::npos) << what;
  }
}

TEST(sessions_config, refusals) {
  const std::string head = "servers: {}\nhttp:\n  sessions:\n";
  const std::string key = "    keys: [{id: a, secret: \"" + std::string(secret_a) + "\"}]\n";
  EXPECT_EQ(errors_of(head + "    max_lifetime: 1h\n").size(), 1U) << "no keys";
  EXPECT_EQ(errors_of(head + key + "    keys_file: /nonexistent/keys\n").size(), 2U) << "both, and unreadable";
  EXPECT_EQ(errors_of(head + "    keys_file: /nonexistent/keys\n").size(), 1U);
  EXPECT_EQ(errors_of(head + "    keys: []\n").size(), 1U);
  EXPECT_EQ(errors_of(head + "    keys: [{id: a}]\n").size(), 1U);
  EXPECT_EQ(errors_of(head + "    keys: [{id: \"a b\", secret: \"" + secret_a + "\"}]\n").size(), 1U);
  EXPECT_EQ(errors_of(head + "    keys: [{id: a, secret: \"" + secret_a + "\", extra: 1}]\n").size(), 1U);
  EXPECT_EQ(errors_of(head + key + "    max_lifetime: 10s\n").size(), 1U);
  EXPECT_EQ(errors_of(head + key + "    advertise: 10.0.0.1:8080\n").size(), 1U);
  EXPECT_EQ(errors_of(head + key + "    sticky: true\n").size(), 1U);
  EXPECT_TRUE(errors_of(head + key).empty());
}

}  // namespace
}  // namespace manifold::config
