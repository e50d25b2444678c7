#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

// The traffic tap: every JSON-RPC message manifold reads or writes, as records that
// `manifold tap` subscribers and the `--trace-file` sink receive. Recording never slows the
// relay: each subscriber has a bounded ring; when it is full, new records are counted as
// lost and the subscriber later reads one `lost` record saying how many. Secrets are
// redacted once per record, before anyone sees it.
//
// A record as JSON (one line of `manifold tap` or of the trace file):
//   {"type":"message","seq":17,"time":"2025-05-01T12:00:00.123456Z",
//    "direction":"host->manifold","session":"9f2c...","upstream":"everything",
//    "method":"tools/call","id":4,"message":{...redacted...}}
//   {"type":"lost","seq":18,"time":"...","count":250}
// `upstream` and `session` are empty strings when not applicable; `id` null for
// notifications; `method` of a response is the method of the request it answers when the
// caller says so (publish's `method`), else empty.
namespace manifold::observe {

class metrics;

enum class tap_direction : std::uint8_t {
  host_to_manifold,
  manifold_to_upstream,
  upstream_to_manifold,
  manifold_to_host,
};
// "host->manifold", "manifold->upstream", "upstream->manifold", "manifold->host"
std::string_view to_string(tap_direction d);

struct tap_record {
  enum class kind : std::uint8_t { message, lost };
  kind type = kind::message;
  std::uint64_t seq = 0;  // the tap's sequence: increasing, gaps where filters skipped
  std::uint64_t time_unix_nanos = 0;
  tap_direction direction = tap_direction::host_to_manifold;
  std::string session{};
  std::string upstream{};
  std::string method{};
  nlohmann::json id{};       // as it came; null when none
  nlohmann::json message{};  // redacted
  std::uint64_t lost = 0;  // kind::lost: how many records were lost here
};
nlohmann::json to_json(const tap_record& record);
// to_json as one line (invalid UTF-8 replaced), with the newline.
std::string to_json_line(const tap_record& record);

// Empty fields match everything. `method` is a glob (`*` any run, `?` one character).
struct tap_filter {
  std::string session{};
  std::string upstream{};
  std::string method{};
  [[nodiscard]] bool matches(std::string_view session_id, std::string_view upstream_name,
                             std::string_view method_name) const;
};
bool glob_match(std::string_view pattern, std::string_view text);

// The default redaction: values under secret-looking keys (password, secret, token but not
// progressToken, api key, authorization, credential, private key, access key, cookie,
// passphrase) become "[redacted]", a "Bearer ..." / "Basic ..." credential in a string keeps
// only its scheme, strings longer than `max_string_bytes` are cut (with the count of bytes
// left out), nesting deeper than 32 is replaced by "[too deep]".
nlohmann::json redact_secrets(const nlohmann::json& message, std::size_t max_string_bytes = 4096);

// One subscriber's ring. Thread-safe: the producer pushes, the subscriber takes, each under
// the ring's own short lock; neither waits for the other beyond that.
class tap_subscription {
 public:
  tap_subscription(tap_filter filter, std::size_t capacity, std::function<void()> on_ready);

  // Up to `max` records, oldest first; where records were lost, a `lost` record in their
  // place.
  std::vector<std::shared_ptr<const tap_record>> take(std::size_t max = SIZE_MAX);
  [[nodiscard]] std::size_t pending() const;
  [[nodiscard]] std::size_t capacity() const { return capacity_; }
  [[nodiscard]] std::uint64_t lost_total() const;
  [[nodiscard]] const tap_filter& filter() const { return filter_; }

  // The producer's side: false when the record was lost (the ring is full).
  bool push(const std::shared_ptr<const tap_record>& record);

 private:
  std::shared_ptr<const tap_record> lost_marker(std::uint64_t count) const;

  const tap_filter filter_;
  const std::size_t capacity_;
  std::function<void()> on_ready_;
  mutable std::mutex mutex_;
  std::vector<std::shared_ptr<const tap_record>> ring_;
  std::size_t head_ = 0;
  std::size_t size_ = 0;
  std::uint64_t lost_pending_ = 0;  // lost after the newest record in the ring
  std::uint64_t lost_total_ = 0;
};

// `--trace-file F`: records as JSON lines in F (mode 0600), rotated by size: when a line
// would take F past max_bytes, F.(files-1) is removed, F.i becomes F.(i+1), F becomes F.1
// and a new F starts; at most `files` files in all. Thread-safe (one lock).
class tap_file_sink {
 public:
  // Throws std::runtime_error when F cannot be opened.
  tap_file_sink(std::string path, std::uint64_t max_bytes, std::size_t files);
  ~tap_file_sink();
  tap_file_sink(const tap_file_sink&) = delete;
  tap_file_sink& operator=(const tap_file_sink&) = delete;

  // A write or rotation error is logged once and the sink stops (later records dropped).
  void write(const tap_record& record);
  [[nodiscard]] const std::string& path() const { return path_; }

 private:
  void rotate();
  void open_file();

  std::string path_;
  std::uint64_t max_bytes_;
  std::size_t files_;
  std::mutex mutex_;
  int fd_ = -1;
  std::uint64_t size_ = 0;
  bool failed_ = false;
};

struct tap_options {
  // Applied once per record before any subscriber or the file sees it. Default
  // redact_secrets; the proxy passes access::redactor's redact (configured patterns too).
  std::function<nlohmann::json(const nlohmann::json&)> redact{};
  metrics* counters = nullptr;  // manifold_tap_records_lost_total
};

// Thread: publish from any thread; subscribe/set_file_sink from any thread.
class tap {
 public:
  explicit tap(tap_options options = {});

  // A subscriber whose ring holds `capacity` (at least 2) records. `on_ready` (optional) is
  // called by the producer, outside any lock, when the ring goes from empty to not empty and
  // when it fills to a quarter of its capacity (a reader that lets records gather before it
  // writes them learns that it should not wait longer): wake the reader there (post to its
  // executor), never read inline. The subscription ends
  // when the last shared_ptr to it goes.
  std::shared_ptr<tap_subscription> subscribe(tap_filter filter, std::size_t capacity,
                                              std::function<void()> on_ready = {});
  void set_file_sink(std::shared_ptr<tap_file_sink> sink);

  // True when a subscriber or a file sink may want records: check before building anything.
  [[nodiscard]] bool active() const { return active_.load(std::memory_order_relaxed); }
  // Records `message` (a parsed JSON-RPC message). `method` overrides the message's own
  // (a response: the method of the request it answers). Nothing happens when nobody's
  // filter matches.
  void publish(tap_direction direction, std::string_view session, std::string_view upstream,
               const nlohmann::json& message, std::string_view method = {});
  [[nodiscard]] std::size_t subscribers() const;

 private:
  void update_active();

  tap_options options_;
  mutable std::mutex mutex_;
  std::vector<std::weak_ptr<tap_subscription>> subscribers_;
  std::shared_ptr<tap_file_sink> file_;
  std::atomic<bool> active_{false};
  std::uint64_t seq_ = 0;
};

}  // namespace manifold::observe
