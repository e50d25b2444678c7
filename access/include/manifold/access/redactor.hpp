#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>
#include <string_view>
#include <vector>

namespace manifold::access {

// Takes secret-looking values out of what is audited: values under secret-looking keys
// (password, secret, token, api_key, authorization, credential, private_key, cookie...),
// substrings that look like credentials (Bearer/Basic values, JWTs, AWS access key ids, PEM
// blocks, common API token prefixes, key=value pairs with secret names), configured patterns,
// and the exact secrets registered with add_secret (config secrets: they never reach an
// audit line, whatever the mode). Thread: immutable after setup.
class redactor {
 public:
  // `extra_patterns`: ECMAScript regexes; one that does not compile is skipped (the config
  // loader refuses it first).
  explicit redactor(const std::vector<std::string>& extra_patterns = {});

  // Registers a secret's exact value (ignored when shorter than 8 bytes: too likely to
  // occur by chance).
  void add_secret(std::string value);

  [[nodiscard]] static bool secret_key(std::string_view key);
  // Patterns and secrets replaced; the text is first cut to max_value_bytes.
  [[nodiscard]] std::string redact_text(std::string_view text) const;
  // Registered secrets replaced, nothing else.
  [[nodiscard]] std::string scrub_text(std::string_view text) const;
  // A JSON value with redact_text applied to every string and secret keys' values replaced;
  // deeper than max_depth or longer than max_items is cut.
  [[nodiscard]] nlohmann::json redact(const nlohmann::json& value) const;
  // A JSON value with scrub_text applied to every string and key.
  [[nodiscard]] nlohmann::json scrub(const nlohmann::json& value) const;

  static constexpr std::size_t max_value_bytes = 1024;
  static constexpr std::size_t max_depth = 16;
  static constexpr std::size_t max_items = 100;

 private:
  nlohmann::json redact_at(const nlohmann::json& value, std::size_t depth) const;
  nlohmann::json scrub_at(const nlohmann::json& value, std::size_t depth) const;

  struct rewrite {
    std::regex pattern;
    std::string replacement;
    // A built-in pattern can only match text that contains one of these (lower case when
    // `folded`); the regex runs only then. Empty: always run (configured patterns).
    std::vector<std::string_view> needles;
    bool folded = false;
  };
  std::vector<rewrite> rewrites_;
  std::vector<std::string> secrets_;
};

}  // namespace manifold::access
