#include "manifold/observe/tap.hpp"

#include <array>
#include <chrono>
#include <ctime>

#include "manifold/observe/metrics.hpp"
#include "manifold/observe/span.hpp"
#include "manifold/protocol/json_access.hpp"

namespace manifold::observe {

namespace {

using json = nlohmann::json;

constexpr std::size_t max_redact_depth = 32;

constexpr std::array<std::string_view, 11> secret_words{
    "password", "passwd", "passphrase", "secret",    "token", "apikey",
    "authorization", "credential", "privatekey", "accesskey", "cookie"};

// Keys that name secrets, compared without case and separators; progressToken and cursor
// tokens are protocol bookkeeping, not secrets.
bool secret_key(std::string_view key) {
  std::string folded;
  folded.reserve(key.size());
  for (const char c : key) {
    if (c == '_' || c == '-' || c == '.' || c == ' ') continue;
    folded += static_cast<char>(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
  }
  if (folded == "progresstoken" || folded == "nextcursor") return false;
  for (const auto word : secret_words) {
    if (folded.find(word) != std::string::npos) return true;
  }
  return false;
}

bool ieq_prefix(std::string_view text, std::size_t at, std::string_view word) {
  if (text.size() - at < word.size()) return false;
  for (std::size_t i = 0; i < word.size(); ++i) {
    const char c = text[at + i];
    const char lower = c >= 'A' && c <= 'Z' ? static_cast<char>(c + ('a' - 'A')) : c;
    if (lower != word[i]) return false;
  }
  return true;
}

bool credential_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '~' || c == '+' || c == '/' || c == '=' || c == '-';
}

// "Bearer abc" / "Basic abc" keep their scheme only.
std::string redact_string(std::string_view text, std::size_t max_bytes) {
  std::string out;
  out.reserve(std::min(text.size(), max_bytes) + 16);
  std::size_t i = 0;
  while (i < text.size() && out.size() < max_bytes) {
    const bool word_start = i == 0 || !credential_char(text[i - 1]);
    std::size_t scheme = 0;
    if (word_start && ieq_prefix(text, i, "bearer ")) scheme = 7;
    if (word_start && ieq_prefix(text, i, "basic ")) scheme = 6;
    if (scheme != 0) {
      auto j = i + scheme;
      while (j < text.size() && text[j] == ' ') ++j;
      const auto start = j;
      while (j < text.size() && credential_char(text[j])) ++j;
      if (j > start) {
        out.append(text.substr(i, scheme));
        out += "[redacted]";
        i = j;
        continue;
      }
    }
    out += text[i];
    ++i;
  }
  if (i < text.size()) out += "...(+" + std::to_string(text.size() - i) + " bytes)";
  return out;
}

json redact_at(const json& value, std::size_t depth, std::size_t max_bytes) {
  if (depth > max_redact_depth) return "[too deep]";
  if (value.is_string()) return redact_string(value.get_ref<const std::string&>(), max_bytes);
  if (value.is_object()) {
    json out = json::object();
    for (const auto& [key, item] : value.items()) {
      out[key] = secret_key(key) ? json("[redacted]") : redact_at(item, depth + 1, max_bytes);
    }
    return out;
  }
  if (value.is_array()) {
    json out = json::array();
    for (const auto& item : value) out.push_back(redact_at(item, depth + 1, max_bytes));
    return out;
  }
  return value;
}

std::string time_text(std::uint64_t unix_nanos) {
  const std::time_t secs = static_cast<std::time_t>(unix_nanos / 1'000'000'000ULL);
  const auto micros = static_cast<unsigned>((unix_nanos / 1000ULL) % 1'000'000ULL);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  const auto n = std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
                               tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, micros);
  return n > 0 ? std::string(buf, static_cast<std::size_t>(n)) : std::string();
}

}  // namespace

std::string_view to_string(tap_direction d) {
  switch (d) {
    case tap_direction::host_to_manifold: return "host->manifold";
    case tap_direction::manifold_to_upstream: return "manifold->upstream";
    case tap_direction::upstream_to_manifold: return "upstream->manifold";
    case tap_direction::manifold_to_host: return "manifold->host";
  }
  return "host->manifold";
}

json to_json(const tap_record& r) {
  if (r.type == tap_record::kind::lost) {
    return {{"type", "lost"}, {"seq", r.seq}, {"time", time_text(r.time_unix_nanos)}, {"count", r.lost}};
  }
  return {{"type", "message"},         {"seq", r.seq},           {"time", time_text(r.time_unix_nanos)},
          {"direction", to_string(r.direction)}, {"session", r.session}, {"upstream", r.upstream},
          {"method", r.method},        {"id", r.id},             {"message", r.message}};
}

std::string to_json_line(const tap_record& record) {
  auto out = to_json(record).dump(-1, ' ', false, json::error_handler_t::replace);
  out += '\n';
  return out;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  std::size_t p = 0;
  std::size_t t = 0;
  std::size_t star = std::string_view::npos;
  std::size_t resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || pattern[p] == text[t])) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool tap_filter::matches(std::string_view session_id, std::string_view upstream_name,
                         std::string_view method_name) const {
  if (!session.empty() && session != session_id) return false;
  if (!upstream.empty() && upstream != upstream_name) return false;
  return method.empty() || glob_match(method, method_name);
}

json redact_secrets(const json& message, std::size_t max_string_bytes) {
  return redact_at(message, 0, max_string_bytes);
}

tap::tap(tap_options options) : options_(std::move(options)) {
  if (!options_.redact) options_.redact = [](const json& m) { return redact_secrets(m); };
}

std::shared_ptr<tap_subscription> tap::subscribe(tap_filter filter, std::size_t capacity,
                                                 std::function<void()> on_ready) {
  auto sub = std::make_shared<tap_subscription>(std::move(filter), capacity, std::move(on_ready));
  const std::lock_guard lock(mutex_);
  subscribers_.push_back(sub);
  active_.store(true, std::memory_order_relaxed);
  return sub;
}

void tap::set_file_sink(std::shared_ptr<tap_file_sink> sink) {
  const std::lock_guard lock(mutex_);
  file_ = std::move(sink);
  update_active();
}

void tap::update_active() {
  active_.store(file_ != nullptr || !subscribers_.empty(), std::memory_order_relaxed);
}

std::size_t tap::subscribers() const {
  const std::lock_guard lock(mutex_);
  std::size_t n = 0;
  for (const auto& w : subscribers_) if (!w.expired()) ++n;
  return n;
}

void tap::publish(tap_direction direction, std::string_view session, std::string_view upstream,
                  const json& message, std::string_view method) {
  if (!active()) return;
  if (method.empty()) method = protocol::string_member(message, "method").value_or("");
  std::vector<std::shared_ptr<tap_subscription>> targets;
  std::shared_ptr<tap_file_sink> file;
  std::uint64_t seq = 0;
  {
    const std::lock_guard lock(mutex_);
    for (auto it = subscribers_.begin(); it != subscribers_.end();) {
      auto sub = it->lock();
      if (!sub) {
        it = subscribers_.erase(it);
        continue;
      }
      if (sub->filter().matches(session, upstream, method)) targets.push_back(std::move(sub));
      ++it;
    }
    file = file_;
    update_active();
    if (targets.empty() && !file) return;
    seq = ++seq_;
  }
  auto record = std::make_shared<tap_record>();
  record->seq = seq;
  record->time_unix_nanos = unix_nanos_now();
  record->direction = direction;
  record->session = std::string(session);
  record->upstream = std::string(upstream);
  record->method = std::string(method);
  if (const auto* id = protocol::member(message, "id")) record->id = *id;
  record->message = options_.redact(message);
  const std::shared_ptr<const tap_record> shared = std::move(record);
  std::size_t lost = 0;
  for (const auto& sub : targets) if (!sub->push(shared)) ++lost;
  if (lost != 0 && options_.counters != nullptr) options_.counters->tap_records_lost(lost);
  if (file) file->write(*shared);
}

tap_subscription::tap_subscription(tap_filter filter, std::size_t capacity,
                                   std::function<void()> on_ready)
    : filter_(std::move(filter)),
      capacity_(std::max<std::size_t>(capacity, 2)),
      on_ready_(std::move(on_ready)),
      ring_(capacity_) {}

std::shared_ptr<const tap_record> tap_subscription::lost_marker(std::uint64_t count) const {
  auto marker = std::make_shared<tap_record>();
  marker->type = tap_record::kind::lost;
  marker->time_unix_nanos = unix_nanos_now();
  marker->lost = count;
  return marker;
}

bool tap_subscription::push(const std::shared_ptr<const tap_record>& record) {
  bool notify = false;
  {
    const std::lock_guard lock(mutex_);
    // A gap is written down as a `lost` record before the next record: that takes two slots.
    const std::size_t needed = lost_pending_ != 0 ? 2 : 1;
    if (size_ + needed > capacity_) {
      ++lost_pending_;
      ++lost_total_;
      return false;
    }
    const auto before = size_;
    if (lost_pending_ != 0) {
      ring_[(head_ + size_++) % capacity_] = lost_marker(lost_pending_);
      lost_pending_ = 0;
    }
    ring_[(head_ + size_++) % capacity_] = record;
    const auto quarter = capacity_ / 4;
    notify = before == 0 || (before < quarter && size_ >= quarter);
  }
  if (notify && on_ready_) on_ready_();
  return true;
}

std::vector<std::shared_ptr<const tap_record>> tap_subscription::take(std::size_t max) {
  std::vector<std::shared_ptr<const tap_record>> out;
  const std::lock_guard lock(mutex_);
  while (size_ != 0 && out.size() < max) {
    out.push_back(std::move(ring_[head_]));
    head_ = (head_ + 1) % capacity_;
    --size_;
  }
  if (size_ == 0 && lost_pending_ != 0 && out.size() < max) {
    out.push_back(lost_marker(lost_pending_));
    lost_pending_ = 0;
  }
  return out;
}

std::size_t tap_subscription::pending() const {
  const std::lock_guard lock(mutex_);
  return size_;
}

std::uint64_t tap_subscription::lost_total() const {
  const std::lock_guard lock(mutex_);
  return lost_total_;
}

}  // namespace manifold::observe
