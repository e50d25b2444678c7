#include "manifold/observe/recent_calls.hpp"

#include "manifold/observe/status_page.hpp"

namespace manifold::observe {

namespace {

constexpr std::size_t max_field_bytes = 256;

void cut(std::string& s) {
  if (s.size() <= max_field_bytes) return;
  // Back up to a UTF-8 boundary so the cut leaves valid text.
  std::size_t at = max_field_bytes;
  while (at > 0 && (static_cast<unsigned char>(s[at]) & 0xC0U) == 0x80U) --at;
  s.resize(at);
  s += "...";
}

}  // namespace

nlohmann::json to_json(const call_record& c) {
  return {{"time", rfc3339_ms(c.time_unix_ms)},
          {"principal", c.principal},
          {"method", c.method},
          {"tool", c.tool},
          {"upstream", c.upstream},
          {"latency_ms", c.latency_ms},
          {"outcome", to_string(c.outcome)},
          {"error", c.error},
          {"trace_id", c.trace_id}};
}

recent_calls::recent_calls(std::size_t capacity) : capacity_(std::max<std::size_t>(capacity, 1)) {
  ring_.reserve(capacity_);
}

void recent_calls::add(call_record call) {
  for (auto* s : {&call.principal, &call.method, &call.tool, &call.upstream, &call.error, &call.trace_id}) {
    cut(*s);
  }
  const std::lock_guard lock(mutex_);
  if (call.outcome != call_outcome::ok) ++failed_;
  if (ring_.size() < capacity_) {
    ring_.push_back(std::move(call));
  } else {
    ring_[next_] = std::move(call);
  }
  next_ = (next_ + 1) % capacity_;
  ++total_;
}

std::vector<call_record> recent_calls::newest_first(std::size_t max) const {
  const std::lock_guard lock(mutex_);
  std::vector<call_record> out;
  const auto n = std::min(max, ring_.size());
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto at = (next_ + capacity_ - 1 - i) % capacity_;
    out.push_back(ring_[at]);
  }
  return out;
}

nlohmann::json recent_calls::to_json() const {
  nlohmann::json calls = nlohmann::json::array();
  for (const auto& c : newest_first()) calls.push_back(observe::to_json(c));
  return {{"total", total()}, {"calls", std::move(calls)}};
}

std::uint64_t recent_calls::total() const {
  const std::lock_guard lock(mutex_);
  return total_;
}

std::uint64_t recent_calls::failed() const {
  const std::lock_guard lock(mutex_);
  return failed_;
}

}  // namespace manifold::observe
