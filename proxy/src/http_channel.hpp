#pragma once

// Private to proxy/: the protocol::channel of one Streamable HTTP (or legacy SSE) session.
// Inbound messages come from POST bodies; outbound ones go to the stream of the request
// they belong to, or to the session's standalone stream (the GET stream, or the legacy SSE
// stream) when they belong to none.

#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string_view>

#include "event_stream.hpp"
#include "manifold/io/event.hpp"
#include "manifold/io/frame_queue.hpp"
#include "manifold/protocol/channel.hpp"

namespace manifold::proxy {

// Where the response of one POSTed request goes: a plain JSON body, or an SSE stream.
struct json_slot {
  std::optional<std::string> response;
  io::event ready;
};

class http_channel final : public protocol::channel {
 public:
  // `max_bytes`: what may wait for the client, per stream (limits.max_queued). `instance`
  // names this process in stream ids (so that a stream id from another replica, or from
  // before a restart, is never taken for one of ours).
  http_channel(std::string session_id, std::size_t history_limit, std::size_t max_bytes, bool legacy,
               std::string instance = {});

  // What a stream id says: the process that made it, whether it is the standalone (GET)
  // stream or a request's, and for a request's, the host's request id (when short enough to
  // be carried).
  struct stream_name {
    std::string instance;
    bool standalone = false;
    std::optional<protocol::json> request_id;
  };
  static std::optional<stream_name> parse_stream_id(std::string_view stream_id);

  // Requests to the host leave under ids "<prefix()>:<tag()>:<n>" instead of n (n: the
  // session's own id), so that the host's answer can be routed back to this channel from
  // any replica; an empty prefix leaves ids as they are.
  void route_requests(std::function<std::string()> prefix) { route_prefix_ = std::move(prefix); }
  [[nodiscard]] const std::string& tag() const { return tag_; }

  // --- from HTTP handlers ---
  void push_inbound(std::string message);
  // Registers the request `key` (its id as JSON text) before its message is pushed; false if
  // a request with that id is already in flight.
  bool expect_json(const std::string& key, std::shared_ptr<json_slot> slot);
  std::shared_ptr<event_stream> expect_stream(const std::string& key);
  [[nodiscard]] std::shared_ptr<event_stream> standalone() const { return standalone_; }
  // `stream` was answered as plain JSON: there is nothing to resume, so it is not kept.
  void forget_stream(const std::shared_ptr<event_stream>& stream);
  // The stream an SSE event id names, for resumption.
  [[nodiscard]] std::shared_ptr<event_stream> find_stream(const std::string& stream_id) const;
  [[nodiscard]] bool closed() const { return closed_; }
  // Why the channel closed itself (a client that stopped reading), or empty.
  [[nodiscard]] const std::string& overflow() const { return overflow_; }

  // --- protocol::channel ---
  void send(std::string message) override;
  void send_related(std::string message, const protocol::json& request_id) override;
  void end_related(const protocol::json& request_id) override;
  boost::asio::awaitable<std::optional<protocol::frame>> receive() override;
  boost::asio::awaitable<bool> flush(std::chrono::steady_clock::time_point) override { co_return true; }
  void close_outbound() override { close(); }
  void close() override;
  [[nodiscard]] std::size_t queued() const override;
  [[nodiscard]] protocol::link_description describe() const override { return {session_id_, "tcp"}; }

 private:
  std::string new_stream_id(const std::string* request_key);
  // `message` with its id routed (route_requests) when it is a request to the host.
  std::string routed(std::string message) const;
  // Pushes to a stream; a lossless stream that cannot take it ends the session.
  void push_to(event_stream& stream, std::string message);

  std::string session_id_;
  std::size_t history_limit_;
  std::size_t max_bytes_;
  bool legacy_;
  std::string instance_;
  std::string tag_;
  std::function<std::string()> route_prefix_;
  std::string overflow_;
  io::frame_queue inbound_;
  bool closed_ = false;
  std::uint64_t next_stream_ = 1;
  std::shared_ptr<event_stream> standalone_;
  std::map<std::string, std::shared_ptr<json_slot>> json_waiting_;
  std::map<std::string, std::shared_ptr<event_stream>> stream_waiting_;
  // Every stream of the session by id (bounded to the recent ones), for resumption.
  std::deque<std::shared_ptr<event_stream>> streams_;
};

}  // namespace manifold::proxy
