// JSON-RPC parsing and classification of any text: never a crash, never a depth beyond the
// bound, the kind peeked from a message's names agrees with the full parse, and the id found
// by peek_envelope is the message's own.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/json_rpc.hpp"

namespace protocol = manifold::protocol;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  const auto outcome = protocol::parse_message(text);
  if (!outcome.msg && !outcome.error_reply) __builtin_trap();
  const auto envelope = protocol::peek_envelope(text, text);
  if (outcome.msg) {
    const auto& msg = *outcome.msg;
    (void)msg.method();
    (void)msg.params();
    (void)protocol::serialize(msg.body);
    if (const auto peeked = protocol::peek_kind(protocol::serialize(msg.body)); peeked != msg.kind) {
      // manifold's own serialisation is always classified right.
      if (!(peeked == protocol::message_kind::error_response && msg.kind == protocol::message_kind::error_response)) __builtin_trap();
    }
    if (envelope.id && msg.body.contains("id") && protocol::is_valid_id(msg.body["id"]) &&
        *envelope.id != msg.body["id"]) {
      __builtin_trap();
    }
  }
  const auto parsed = protocol::parse_json(text, 64);
  if (parsed.ok()) (void)parsed.value.dump();
  return 0;
}
