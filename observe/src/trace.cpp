#include "manifold/observe/trace.hpp"

#include <cmath>
#include <cstring>

#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/text.hpp"

namespace manifold::observe {

namespace {

constexpr std::size_t max_tracestate_members = 32;
constexpr std::size_t max_tracestate_bytes = 512;

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;  // uppercase is not valid in a traceparent
}

template <std::size_t N>
bool from_hex(std::string_view text, std::array<std::uint8_t, N>& out) {
  if (text.size() != 2 * N) return false;
  for (std::size_t i = 0; i < N; ++i) {
    const int hi = hex_digit(text[2 * i]);
    const int lo = hex_digit(text[2 * i + 1]);
    if (hi < 0 || lo < 0) return false;
    out[i] = static_cast<std::uint8_t>(hi * 16 + lo);
  }
  return true;
}

template <std::size_t N>
std::string to_hex(const std::array<std::uint8_t, N>& bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out(2 * N, '0');
  for (std::size_t i = 0; i < N; ++i) {
    out[2 * i] = digits[bytes[i] >> 4U];
    out[2 * i + 1] = digits[bytes[i] & 0x0FU];
  }
  return out;
}

template <std::size_t N>
bool all_zero(const std::array<std::uint8_t, N>& bytes) {
  for (const auto b : bytes) {
    if (b != 0) return false;
  }
  return true;
}

// xoshiro256**: fast, good statistical quality; seeded per thread from the CSPRNG.
class id_source {
 public:
  id_source() {
    const auto seed = protocol::random_bytes(sizeof(state_));
    std::memcpy(state_.data(), seed.data(), sizeof(state_));
    if (state_[0] == 0 && state_[1] == 0 && state_[2] == 0 && state_[3] == 0) state_[0] = 1;
  }

  std::uint64_t next() {
    const auto result = rotl(state_[1] * 5, 7) * 9;
    const auto t = state_[1] << 17U;
    state_[2] ^= state_[0];
    state_[3] ^= state_[1];
    state_[1] ^= state_[2];
    state_[0] ^= state_[3];
    state_[2] ^= t;
    state_[3] = rotl(state_[3], 45);
    return result;
  }

 private:
  static std::uint64_t rotl(std::uint64_t x, int k) {
    return (x << static_cast<unsigned>(k)) | (x >> static_cast<unsigned>(64 - k));
  }
  std::array<std::uint64_t, 4> state_{};
};

id_source& ids() {
  thread_local id_source source;
  return source;
}

void put(std::uint64_t v, std::uint8_t* out) {
  for (int i = 7; i >= 0; --i) {
    out[i] = static_cast<std::uint8_t>(v & 0xFFU);
    v >>= 8U;
  }
}

bool lcalpha(char c) { return c >= 'a' && c <= 'z'; }
bool digit(char c) { return c >= '0' && c <= '9'; }
bool key_char(char c) { return lcalpha(c) || digit(c) || c == '_' || c == '-' || c == '*' || c == '/'; }

// simple-key, or tenant-id "@" system-id.
bool valid_key(std::string_view key) {
  const auto at = key.find('@');
  if (at == std::string_view::npos) {
    if (key.empty() || key.size() > 256 || !lcalpha(key[0])) return false;
    for (const char c : key) {
      if (!key_char(c)) return false;
    }
    return true;
  }
  const auto tenant = key.substr(0, at);
  const auto system = key.substr(at + 1);
  if (tenant.empty() || tenant.size() > 241 || !(lcalpha(tenant[0]) || digit(tenant[0]))) return false;
  if (system.empty() || system.size() > 14 || !lcalpha(system[0])) return false;
  for (const char c : tenant) {
    if (!key_char(c)) return false;
  }
  for (const char c : system) {
    if (!key_char(c)) return false;
  }
  return true;
}

bool valid_value(std::string_view value) {
  if (value.empty() || value.size() > 256 || value.back() == ' ') return false;
  for (const char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u > 0x7E || c == ',' || c == '=') return false;
  }
  return true;
}

std::string_view trim_ows(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

bool trace_id::valid() const { return !all_zero(bytes); }
std::string trace_id::hex() const { return to_hex(bytes); }
bool span_id::valid() const { return !all_zero(bytes); }
std::string span_id::hex() const { return to_hex(bytes); }

std::optional<trace_id> trace_id_from_hex(std::string_view hex) {
  trace_id out;
  if (!from_hex(hex, out.bytes) || !out.valid()) return std::nullopt;
  return out;
}

std::optional<span_id> span_id_from_hex(std::string_view hex) {
  span_id out;
  if (!from_hex(hex, out.bytes) || !out.valid()) return std::nullopt;
  return out;
}

std::optional<span_context> parse_traceparent(std::string_view value) {
  if (value.size() != 55 || value[2] != '-' || value[35] != '-' || value[52] != '-') return std::nullopt;
  if (value.substr(0, 2) != "00") return std::nullopt;
  span_context out;
  std::array<std::uint8_t, 1> flags{};
  if (!from_hex(value.substr(3, 32), out.trace.bytes) || !from_hex(value.substr(36, 16), out.span.bytes) ||
      !from_hex(value.substr(53, 2), flags)) {
    return std::nullopt;
  }
  if (!out.valid()) return std::nullopt;
  out.flags = flags[0];
  return out;
}

std::string format_traceparent(const span_context& context) {
  std::array<std::uint8_t, 1> flags{context.flags};
  return "00-" + context.trace.hex() + "-" + context.span.hex() + "-" + to_hex(flags);
}

std::string checked_tracestate(std::string_view value) {
  if (value.size() > max_tracestate_bytes) return {};
  std::string out;
  std::vector<std::string_view> keys;
  std::size_t at = 0;
  while (at <= value.size()) {
    auto end = value.find(',', at);
    if (end == std::string_view::npos) end = value.size();
    const auto member = trim_ows(value.substr(at, end - at));
    at = end + 1;
    if (member.empty()) continue;
    const auto eq = member.find('=');
    if (eq == std::string_view::npos) return {};
    const auto key = member.substr(0, eq);
    const auto val = member.substr(eq + 1);
    if (!valid_key(key) || !valid_value(val)) return {};
    for (const auto k : keys) {
      if (k == key) return {};
    }
    keys.push_back(key);
    if (keys.size() > max_tracestate_members) return {};
    if (!out.empty()) out += ',';
    out += member;
  }
  return out;
}

trace_id new_trace_id() {
  trace_id out;
  do {
    put(ids().next(), out.bytes.data());
    put(ids().next(), out.bytes.data() + 8);
  } while (!out.valid());
  return out;
}

span_id new_span_id() {
  span_id out;
  do {
    put(ids().next(), out.bytes.data());
  } while (!out.valid());
  return out;
}

std::optional<span_context> context_from_headers(std::string_view traceparent,
                                                 std::string_view tracestate) {
  auto out = parse_traceparent(trim_ows(traceparent));
  if (out) out->tracestate = checked_tracestate(tracestate);
  return out;
}

std::optional<span_context> context_from_meta(const nlohmann::json& params) {
  const auto* meta = protocol::object_member(params, "_meta");
  if (meta == nullptr) return std::nullopt;
  const auto parent = protocol::string_member(*meta, "traceparent");
  if (!parent) return std::nullopt;
  return context_from_headers(*parent, protocol::string_member(*meta, "tracestate").value_or(""));
}

std::optional<span_context> extract_context(const nlohmann::json& params,
                                            std::string_view header_traceparent,
                                            std::string_view header_tracestate) {
  auto out = context_from_meta(params);
  if (out) return out;
  if (header_traceparent.empty()) return std::nullopt;
  return context_from_headers(header_traceparent, header_tracestate);
}

bool inject_meta(nlohmann::json& params, const span_context& context) {
  if (params.is_null()) params = nlohmann::json::object();
  if (!params.is_object()) return false;
  auto* meta = protocol::member(params, "_meta");
  if (meta == nullptr) {
    params["_meta"] = nlohmann::json::object();
    meta = protocol::member(params, "_meta");
  }
  if (!meta->is_object()) return false;
  (*meta)["traceparent"] = format_traceparent(context);
  if (context.tracestate.empty()) {
    meta->erase("tracestate");
  } else {
    (*meta)["tracestate"] = context.tracestate;
  }
  return true;
}

std::vector<std::pair<std::string, std::string>> trace_headers(const span_context& context) {
  std::vector<std::pair<std::string, std::string>> out;
  out.emplace_back("traceparent", format_traceparent(context));
  if (!context.tracestate.empty()) out.emplace_back("tracestate", context.tracestate);
  return out;
}

sampler::sampler(double ratio) : ratio_(ratio), threshold_(0), always_(false) {
  if (!(ratio_ > 0)) {  // also NaN
    ratio_ = 0;
  } else if (ratio_ >= 1) {
    ratio_ = 1;
    always_ = true;
  } else {
    threshold_ = static_cast<std::uint64_t>(std::ldexp(ratio_, 64));
  }
}

bool sampler::sample(const trace_id& trace, const span_context* parent) const {
  if (parent != nullptr) return parent->sampled();
  if (always_) return true;
  std::uint64_t low = 0;
  for (std::size_t i = 8; i < 16; ++i) low = (low << 8U) | trace.bytes[i];
  return low < threshold_;
}

}  // namespace manifold::observe
