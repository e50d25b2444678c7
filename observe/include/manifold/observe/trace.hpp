#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

// W3C Trace Context (https://www.w3.org/TR/trace-context/): ids, `traceparent` and
// `tracestate`, where MCP carries them (a request's `params._meta`, as the OTel MCP
// conventions say, or HTTP headers), new ids, and the sampler. Spans: span.hpp.
namespace manifold::observe {

struct trace_id {
  std::array<std::uint8_t, 16> bytes{};
  [[nodiscard]] bool valid() const;  // not all zero
  [[nodiscard]] std::string hex() const;  // 32 lowercase hex digits
  bool operator==(const trace_id&) const = default;
};

struct span_id {
  std::array<std::uint8_t, 8> bytes{};
  [[nodiscard]] bool valid() const;
  [[nodiscard]] std::string hex() const;  // 16 lowercase hex digits
  bool operator==(const span_id&) const = default;
};

// What crosses a hop: the trace, the span that is the parent on the other side, the flags
// (bit 0: sampled) and the vendors' tracestate.
struct span_context {
  trace_id trace{};
  span_id span{};
  std::uint8_t flags = 0;
  std::string tracestate{};

  [[nodiscard]] bool valid() const { return trace.valid() && span.valid(); }
  [[nodiscard]] bool sampled() const { return (flags & 0x01U) != 0; }
};

// Strict version 00: "00-" 32 hex "-" 16 hex "-" 2 hex, lowercase hex, nothing else; ids
// not all zero. nullopt otherwise (the request then starts a new trace).
std::optional<span_context> parse_traceparent(std::string_view value);
std::string format_traceparent(const span_context& context);
// `value` when it is a valid tracestate (at most 32 list members of key=value with W3C keys
// and values, no duplicate keys, at most 512 bytes), with optional whitespace removed; ""
// otherwise (an invalid tracestate is dropped, the traceparent still holds).
std::string checked_tracestate(std::string_view value);

// Parsed from lowercase hex; nullopt for another length, other characters or all zeros.
std::optional<trace_id> trace_id_from_hex(std::string_view hex);
std::optional<span_id> span_id_from_hex(std::string_view hex);

// Fresh random ids (never all zero) from a fast generator (xoshiro256**) seeded from the
// OS CSPRNG, one per thread.
trace_id new_trace_id();
span_id new_span_id();

// The trace context of an MCP request: `params._meta.traceparent` and `tracestate` (read
// through checked accessors: a wrong type is no context). nullopt when absent or invalid.
std::optional<span_context> context_from_meta(const nlohmann::json& params);
// The same from HTTP headers' values (empty when absent).
std::optional<span_context> context_from_headers(std::string_view traceparent,
                                                 std::string_view tracestate);
// The request's context: `_meta` first (the conventions' carrier), the headers otherwise.
std::optional<span_context> extract_context(const nlohmann::json& params,
                                            std::string_view header_traceparent = {},
                                            std::string_view header_tracestate = {});
// Writes `context` into `params._meta` (traceparent, and tracestate when not empty),
// replacing what the host sent there. `params` null becomes an object. False, and nothing
// written, when params or its `_meta` is something other than an object.
bool inject_meta(nlohmann::json& params, const span_context& context);
// `traceparent` (and `tracestate`) headers for an HTTP upstream request.
std::vector<std::pair<std::string, std::string>> trace_headers(const span_context& context);

// Parent-based sampling with a trace-id ratio for new traces: a request with a parent
// follows the parent's sampled flag; a new trace is sampled when its trace id's last 8
// bytes (big-endian) are below ratio * 2^64, so every hop that uses the same ratio decides
// the same way. Thread: immutable.
class sampler {
 public:
  explicit sampler(double ratio = 1.0);
  [[nodiscard]] bool sample(const trace_id& trace, const span_context* parent) const;
  [[nodiscard]] double ratio() const { return ratio_; }

 private:
  double ratio_;
  std::uint64_t threshold_;
  bool always_;
};

}  // namespace manifold::observe
