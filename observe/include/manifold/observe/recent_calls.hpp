#pragma once

#include <cstddef>
#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "manifold/observe/metrics.hpp"

// The last N calls, for the status page (/ui/api/calls and the `call` SSE event).
namespace manifold::observe {

struct call_record {
  std::uint64_t time_unix_ms = 0;  // when the call finished
  std::string principal{};           // who called ("" when anonymous)
  std::string method{};              // tools/call, prompts/get, resources/read...
  std::string tool{};                // exposed tool/prompt name or resource URI
  std::string upstream{};            // "" when manifold answered itself
  double latency_ms = 0;
  call_outcome outcome = call_outcome::ok;
  std::string error{};     // the error message when not ok ("" otherwise)
  std::string trace_id{};  // "" when not traced
};

// The call as the page reads it: {"time","principal","method","tool","upstream",
// "latency_ms","outcome","error","trace_id"}.
nlohmann::json to_json(const call_record& call);

// A bounded ring of the newest calls; strings longer than 256 bytes are cut on the way in.
// Thread-safe (one short lock).
class recent_calls {
 public:
  explicit recent_calls(std::size_t capacity = 200);

  void add(call_record call);
  [[nodiscard]] std::vector<call_record> newest_first(std::size_t max = SIZE_MAX) const;
  // {"total": calls ever added, "calls": [newest first]}
  [[nodiscard]] nlohmann::json to_json() const;
  [[nodiscard]] std::uint64_t total() const;
  // Calls ever added whose outcome was not ok.
  [[nodiscard]] std::uint64_t failed() const;
  [[nodiscard]] std::size_t capacity() const { return capacity_; }

 private:
  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::vector<call_record> ring_;
  std::size_t next_ = 0;
  std::uint64_t total_ = 0;
  std::uint64_t failed_ = 0;
};

}  // namespace manifold::observe
