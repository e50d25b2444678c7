#include "http_channel.hpp"

#include <algorithm>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>

#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/text.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;

namespace {

constexpr std::size_t resumable_streams = 64;
// Request ids longer than this (as JSON text) are not carried in stream ids.
constexpr std::size_t max_carried_id = 128;

// True when `message` is a JSON-RPC response (result or error), i.e. the end of its request.
// Messages here are manifold's own serialization: their top-level names tell the kind.
bool is_response(const std::string& message) {
  const auto kind = protocol::peek_kind(message);
  return kind == protocol::message_kind::response || kind == protocol::message_kind::error_response;
}

}  // namespace

http_channel::http_channel(std::string session_id, std::size_t history_limit,
                           std::size_t max_bytes, bool legacy, std::string instance)
    : session_id_(std::move(session_id)), history_limit_(history_limit), max_bytes_(max_bytes),
      legacy_(legacy), instance_(instance.empty() ? "s" : std::move(instance)),
      tag_(protocol::hex(protocol::random_bytes(4))) {
  // The legacy SSE stream carries every response: it must never drop one.
  standalone_ = std::make_shared<event_stream>(new_stream_id(nullptr), history_limit_, max_bytes_, legacy_);
  streams_.push_back(standalone_);
}

// "<instance>-g<n>" for the standalone stream, "<instance>-r<n>[-<base64url(request id)>]"
// for a request's.
std::string http_channel::new_stream_id(const std::string* request_key) {
  auto id = instance_ + (request_key == nullptr ? "-g" : "-r") + std::to_string(next_stream_++);
  if (request_key != nullptr && request_key->size() <= max_carried_id) {
    id += "-" + protocol::base64url_encode(*request_key);
  }
  return id;
}

std::optional<http_channel::stream_name> http_channel::parse_stream_id(std::string_view stream_id) {
  const auto dash = stream_id.find('-');
  if (dash == std::string_view::npos || dash == 0 || dash + 2 > stream_id.size()) return std::nullopt;
  stream_name out;
  out.instance = std::string(stream_id.substr(0, dash));
  const auto kind = stream_id[dash + 1];
  if (kind != 'g' && kind != 'r') return std::nullopt;
  out.standalone = kind == 'g';
  const auto rest = stream_id.substr(dash + 2);
  const auto carried = rest.find('-');
  if (!out.standalone && carried != std::string_view::npos) {
    const auto text = protocol::base64url_decode(rest.substr(carried + 1));
    if (!text) return std::nullopt;
    auto parsed = protocol::parse_json(*text, 4);
    if (!parsed.ok() || !(parsed.value.is_string() || parsed.value.is_number_integer())) return std::nullopt;
    out.request_id = std::move(parsed.value);
  }
  return out;
}

std::string http_channel::routed(std::string message) const {
  if (!route_prefix_ || protocol::peek_kind(message) != protocol::message_kind::request) return message;
  const auto prefix = route_prefix_();
  if (prefix.empty()) return message;
  auto parsed = protocol::parse_json(message);
  auto* id = parsed.ok() ? protocol::member(parsed.value, "id") : nullptr;
  if (id == nullptr || !id->is_number_integer()) return message;
  *id = prefix + ":" + tag_ + ":" + id->dump();
  return protocol::serialize(parsed.value);
}

void http_channel::push_inbound(std::string message) { inbound_.push(std::move(message)); }

bool http_channel::expect_json(const std::string& key, std::shared_ptr<json_slot> slot) {
  if (json_waiting_.count(key) != 0 || stream_waiting_.count(key) != 0) return false;
  json_waiting_[key] = std::move(slot);
  return true;
}

std::shared_ptr<event_stream> http_channel::expect_stream(const std::string& key) {
  if (json_waiting_.count(key) != 0 || stream_waiting_.count(key) != 0) return nullptr;
  auto stream = std::make_shared<event_stream>(new_stream_id(&key), history_limit_, max_bytes_, true);
  stream_waiting_[key] = stream;
  streams_.push_back(stream);
  while (streams_.size() > resumable_streams) streams_.pop_front();
  return stream;
}

void http_channel::forget_stream(const std::shared_ptr<event_stream>& stream) {
  // The newest streams are at the back, and the one answered last is usually the newest.
  for (auto it = streams_.rbegin(); it != streams_.rend(); ++it) {
    if (*it == stream) {
      streams_.erase(std::next(it).base());
      return;
    }
  }
}

std::shared_ptr<event_stream> http_channel::find_stream(const std::string& stream_id) const {
  for (const auto& s : streams_) {
    if (s->id() == stream_id) return s;
  }
  return nullptr;
}

void http_channel::push_to(event_stream& stream, std::string message) {
  if (closed_ || stream.push(std::move(message))) return;
  overflow_ = "the client stopped reading: " + std::to_string(stream.bytes()) +
              " bytes wait for it on one stream (limits.max_queued)";
  spdlog::warn("http: session {}: {}; ending it", session_id_, overflow_);
  close();
}

std::size_t http_channel::queued() const {
  std::size_t out = 0;
  for (const auto& s : streams_) out += s->bytes();
  return out;
}

void http_channel::send(std::string message) { push_to(*standalone_, routed(std::move(message))); }

void http_channel::send_related(std::string message, const protocol::json& request_id) {
  message = routed(std::move(message));
  if (legacy_) {
    push_to(*standalone_, std::move(message));
    return;
  }
  const auto key = request_id.dump();
  if (const auto slot = json_waiting_.find(key); slot != json_waiting_.end()) {
    if (is_response(message)) {
      slot->second->response = std::move(message);
      slot->second->ready.set();
      json_waiting_.erase(slot);
    } else {
      push_to(*standalone_, std::move(message));
    }
    return;
  }
  if (const auto stream = stream_waiting_.find(key); stream != stream_waiting_.end()) {
    const bool last = is_response(message);
    const auto target = stream->second;
    push_to(*target, std::move(message));
    if (last) {
      target->finish();
      stream_waiting_.erase(key);
    }
    return;
  }
  push_to(*standalone_, std::move(message));
}

void http_channel::end_related(const protocol::json& request_id) {
  const auto key = request_id.dump();
  if (const auto slot = json_waiting_.find(key); slot != json_waiting_.end()) {
    slot->second->ready.set();  // no response: the handler answers 202
    json_waiting_.erase(slot);
  }
  if (const auto stream = stream_waiting_.find(key); stream != stream_waiting_.end()) {
    stream->second->finish();
    stream_waiting_.erase(stream);
  }
}

asio::awaitable<std::optional<protocol::frame>> http_channel::receive() {
  co_return co_await inbound_.pop();
}

void http_channel::close() {
  if (closed_) return;
  closed_ = true;
  inbound_.close();
  for (auto& s : streams_) s->finish();
  for (auto& [key, s] : stream_waiting_) s->finish();  // also those evicted from streams_
  for (auto& [key, slot] : json_waiting_) slot->ready.set();
  json_waiting_.clear();
  stream_waiting_.clear();
}

}  // namespace manifold::proxy
