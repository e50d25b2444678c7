#include "manifold/access/redactor.hpp"

#include <algorithm>
#include <array>
#include <string>

namespace manifold::access {

namespace {

constexpr std::string_view redacted = "[REDACTED]";

struct builtin {
  const char* pattern;
  const char* replacement;
  bool icase;
  std::string_view needles;  // "|"-separated, lower case when icase
};

constexpr std::array<builtin, 7> builtins{{
    {R"(-----BEGIN [A-Z0-9 ]*-----[\s\S]*?(-----END [A-Z0-9 ]*-----|$))", "[REDACTED:pem]", false, "-----BEGIN "},
    {R"(\b(bearer|basic)\s+[A-Za-z0-9._~+/=-]+)", "$1 [REDACTED]", true, "bearer|basic"},
    {R"(eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)", "[REDACTED:jwt]", false, "eyJ"},
    {R"(\b(AKIA|ASIA)[0-9A-Z]{16}\b)", "[REDACTED:aws-key-id]", false, "AKIA|ASIA"},
    {R"(\b(mfd|sk|ghp|gho|ghs|ghu|ghr|xoxa|xoxb|xoxp|xoxr|xoxs)[-_][A-Za-z0-9_-]{16,})", "[REDACTED:token]", false,
     "mfd-|mfd_|sk-|sk_|ghp_|gho_|ghs_|ghu_|ghr_|ghp-|gho-|ghs-|ghu-|ghr-|xox"},
    {R"(\bgithub_pat_[A-Za-z0-9_]{20,})", "[REDACTED:token]", false, "github_pat_"},
    {R"(\b((password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key)\s*[=:]\s*)[^\s&;,"']+)", "$1[REDACTED]",
     true, "password|passwd|pwd|secret|token|key"},
}};

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  return out;
}

constexpr std::array<std::string_view, 12> secret_words{"password", "passwd", "secret", "token", "apikey",
                                                        "authorization", "credential", "privatekey", "accesskey",
                                                        "cookie", "sessionid", "passphrase"};

std::string cut(std::string_view text) {
  if (text.size() <= redactor::max_value_bytes) return std::string(text);
  return std::string(text.substr(0, redactor::max_value_bytes)) + "...(+" +
         std::to_string(text.size() - redactor::max_value_bytes) + " bytes)";
}

}  // namespace

redactor::redactor(const std::vector<std::string>& extra_patterns) {
  for (const auto& b : builtins) {
    auto flags = std::regex::ECMAScript;
    if (b.icase) flags |= std::regex::icase;
    std::vector<std::string_view> needles;
    for (auto rest = b.needles; !rest.empty();) {
      const auto bar = rest.find('|');
      needles.push_back(rest.substr(0, bar));
      rest = bar == std::string_view::npos ? std::string_view() : rest.substr(bar + 1);
    }
    rewrites_.push_back({std::regex(b.pattern, flags), b.replacement, std::move(needles), b.icase});
  }
  for (const auto& p : extra_patterns) {
    try {
      rewrites_.push_back({std::regex(p, std::regex::ECMAScript), std::string(redacted), {}, false});
    } catch (const std::regex_error&) {
      // refused by the config loader; nothing to add
    }
  }
}

void redactor::add_secret(std::string value) {
  if (value.size() < 8 || std::find(secrets_.begin(), secrets_.end(), value) != secrets_.end()) return;
  secrets_.push_back(std::move(value));
  // Longest first, so that a secret containing another is replaced whole.
  std::sort(secrets_.begin(), secrets_.end(), [](const auto& a, const auto& b) { return a.size() > b.size(); });
}

bool redactor::secret_key(std::string_view key) {
  std::string folded;
  for (const char c : key) {
    if (c == '_' || c == '-' || c == '.' || c == ' ') continue;
    folded += static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
  }
  return std::any_of(secret_words.begin(), secret_words.end(),
                     [&](std::string_view word) { return folded.find(word) != std::string::npos; });
}

std::string redactor::scrub_text(std::string_view text) const {
  std::string out(text);
  for (const auto& secret : secrets_) {
    for (auto at = out.find(secret); at != std::string::npos; at = out.find(secret, at + redacted.size())) {
      out.replace(at, secret.size(), redacted);
    }
  }
  return out;
}

std::string redactor::redact_text(std::string_view text) const {
  auto out = scrub_text(cut(text));
  std::string folded;  // `out` in lower case, made when a folded needle is first looked for
  for (const auto& r : rewrites_) {
    if (!r.needles.empty()) {
      if (r.folded && folded.empty()) folded = lower(out);
      const std::string& haystack = r.folded ? folded : out;
      const bool may_match = std::any_of(r.needles.begin(), r.needles.end(), [&](std::string_view needle) {
        return haystack.find(needle) != std::string::npos;
      });
      if (!may_match) continue;
    }
    out = std::regex_replace(out, r.pattern, r.replacement);
    folded.clear();  // the text may have changed
  }
  return out;
}

nlohmann::json redactor::redact(const nlohmann::json& value) const { return redact_at(value, 0); }

nlohmann::json redactor::scrub(const nlohmann::json& value) const { return scrub_at(value, 0); }

nlohmann::json redactor::redact_at(const nlohmann::json& value, std::size_t depth) const {
  if (value.is_string()) return redact_text(value.get_ref<const std::string&>());
  if (!value.is_structured()) return value;
  if (depth >= max_depth) return "[...]";
  std::size_t n = 0;
  if (value.is_array()) {
    auto out = nlohmann::json::array();
    for (const auto& item : value) {
      if (n++ == max_items) {
        out.push_back("...(+" + std::to_string(value.size() - max_items) + " items)");
        break;
      }
      out.push_back(redact_at(item, depth + 1));
    }
    return out;
  }
  auto out = nlohmann::json::object();
  for (const auto& [key, item] : value.items()) {
    if (n++ == max_items) {
      out["..."] = "+" + std::to_string(value.size() - max_items) + " members";
      break;
    }
    out[scrub_text(cut(key))] = secret_key(key) ? nlohmann::json(redacted) : redact_at(item, depth + 1);
  }
  return out;
}

nlohmann::json redactor::scrub_at(const nlohmann::json& value, std::size_t depth) const {
  if (secrets_.empty()) return value;
  if (value.is_string()) return scrub_text(value.get_ref<const std::string&>());
  if (!value.is_structured()) return value;
  if (depth >= 64) return "[...]";  // never returned unscrubbed
  auto out = value.is_array() ? nlohmann::json::array() : nlohmann::json::object();
  if (value.is_array()) {
    for (const auto& item : value) out.push_back(scrub_at(item, depth + 1));
  } else {
    for (const auto& [key, item] : value.items()) out[scrub_text(key)] = scrub_at(item, depth + 1);
  }
  return out;
}

}  // namespace manifold::access
