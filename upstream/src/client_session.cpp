#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <spdlog/spdlog.h>
#include <unordered_map>

#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/protocol_version.hpp"
#include "manifold/upstream/upstream.hpp"
#include "manifold/version.hpp"

namespace manifold::upstream {

namespace asio = boost::asio;
namespace error_code = protocol::error_code;
using std::chrono::milliseconds;
using clock = std::chrono::steady_clock;

std::string_view to_string(upstream_state state) {
  switch (state) {
    case upstream_state::created:
      return "created";
    case upstream_state::starting:
      return "starting";
    case upstream_state::ready:
      return "ready";
    case upstream_state::failed:
      return "failed";
    case upstream_state::closed:
      return "closed";
  }
  return "unknown";
}

namespace {

constexpr std::size_t max_pages = 10'000;  // a cursor loop bound against a misbehaving server

std::string describe_ms(milliseconds d) {
  if (d.count() % 1000 == 0) return std::to_string(d.count() / 1000) + "s";
  return std::to_string(d.count()) + "ms";
}

// One request awaiting its reply. Lives in the awaiting coroutine's frame; the session
// holds a pointer while the request is in flight. The timer doubles as the wake-up: a reply
// (or the link closing) stores the outcome and cancels it.
struct pending_call {
  explicit pending_call(asio::any_io_executor ex, clock::time_point deadline)
      : timer(std::move(ex), deadline) {}
  asio::steady_timer timer;
  std::optional<protocol::rpc_reply> reply;
};

class client_session final : public upstream, public std::enable_shared_from_this<client_session> {
 public:
  client_session(asio::any_io_executor executor, const config::server_config& server,
                 std::unique_ptr<transport> link)
      : executor_(std::move(executor)), server_(server), link_(std::move(link)) {}

  [[nodiscard]] const std::string& name() const override { return server_.name; }
  [[nodiscard]] upstream_state state() const override { return state_; }
  [[nodiscard]] const upstream_info& info() const override { return info_; }
  [[nodiscard]] std::string problem() const override { return problem_; }
  void on_notification(notification_handler handler) override {
    on_notification_ = std::move(handler);
  }

  asio::awaitable<bool> start() override {
    state_ = upstream_state::starting;
    const auto deadline = clock::now() + server_.startup_timeout;
    std::string open_error;
    try {
      channel_ = co_await link_->open();
    } catch (const std::exception& e) {
      open_error = e.what();
    }
    if (!channel_) co_return co_await fail("failed to start: " + open_error);
    asio::co_spawn(executor_, read_loop(shared_from_this()), asio::detached);

    json params{{"protocolVersion", protocol::latest_version},
                {"capabilities", json::object()},
                {"clientInfo", {{"name", "manifold"}, {"version", manifold::version}}}};
    const auto remaining = std::chrono::duration_cast<milliseconds>(deadline - clock::now());
    auto reply = co_await request("initialize", std::move(params), std::max(remaining, milliseconds(1)));
    if (!reply.ok()) {
      if (reply.error->code == error_code::request_timeout) {
        co_return co_await fail("did not answer initialize within " +
                                describe_ms(server_.startup_timeout));
      }
      co_return co_await fail("initialize failed: " + reply.error->message);
    }
    if (auto why = read_initialize_result(reply.result); !why.empty()) {
      co_return co_await fail(why);
    }
    notify("notifications/initialized", nullptr);
    state_ = upstream_state::ready;
    spdlog::info("[{}] ready: {} {} (protocol {})", server_.name,
                 info_.server_info.value("name", "?"), info_.server_info.value("version", "?"),
                 info_.protocol_version);
    co_return true;
  }

  asio::awaitable<protocol::rpc_reply> call(std::string method, json params,
                                            protocol::call_options options) override {
    if (state_ != upstream_state::ready) {
      co_return protocol::rpc_reply::failure(
          error_code::connection_closed,
          "upstream '" + server_.name + "' is not available (" + std::string(to_string(state_)) +
              (problem_.empty() ? "" : ": " + problem_) + ")");
    }
    const auto timeout = options.timeout.count() > 0 ? options.timeout : server_.timeout;
    co_return co_await request(std::move(method), std::move(params), timeout);
  }

  void notify(std::string method, json params) override {
    if (channel_) channel_->send(protocol::serialize(protocol::make_notification(method, std::move(params))));
  }

  asio::awaitable<list_outcome> list_all(std::string method, std::string key) override {
    list_outcome out;
    json cursor;
    for (std::size_t page = 0; page < max_pages; ++page) {
      json params = json::object();
      if (!cursor.is_null()) params["cursor"] = cursor;
      auto reply = co_await call(method, std::move(params), {});
      if (!reply.ok()) {
        out.error = std::move(reply.error);
        co_return out;
      }
      const auto items = reply.result.find(key);
      if (!reply.result.is_object() || items == reply.result.end() || !items->is_array()) {
        out.error = protocol::rpc_error{error_code::internal_error,
                                        method + " result has no `" + key + "` array",
                                        std::nullopt};
        co_return out;
      }
      for (auto& item : *items) out.items.push_back(std::move(item));
      const auto next = reply.result.find("nextCursor");
      if (next == reply.result.end() || next->is_null()) co_return out;
      if (!next->is_string() || *next == cursor) {
        out.error = protocol::rpc_error{error_code::internal_error,
                                        method + " returned an invalid or repeating nextCursor",
                                        std::nullopt};
        co_return out;
      }
      cursor = *next;
    }
    out.error = protocol::rpc_error{error_code::internal_error,
                                    method + " did not end after " + std::to_string(max_pages) +
                                        " pages",
                                    std::nullopt};
    co_return out;
  }

  asio::awaitable<void> stop(milliseconds budget) override {
    if (state_ == upstream_state::closed) co_return;
    if (state_ != upstream_state::failed) state_ = upstream_state::closed;
    fail_pending("upstream '" + server_.name + "' is shutting down");
    co_await link_->close(budget);
  }

 private:
  asio::awaitable<protocol::rpc_reply> request(std::string method, json params,
                                               milliseconds timeout) {
    const auto id = next_id_++;
    pending_call pending(executor_, clock::now() + timeout);
    pending_.emplace(id, &pending);
    channel_->send(protocol::serialize(protocol::make_request(id, method, std::move(params))));
    auto [ec] = co_await pending.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    pending_.erase(id);
    if (pending.reply) co_return std::move(*pending.reply);

    const bool timed_out = !ec;
    notify("notifications/cancelled",
           {{"requestId", id}, {"reason", timed_out ? "timeout" : "cancelled"}});
    if (timed_out) {
      spdlog::warn("[{}] {} timed out after {}", server_.name, method, describe_ms(timeout));
      co_return protocol::rpc_reply::failure(
          error_code::request_timeout, "upstream '" + server_.name + "' did not answer " + method +
                                           " within " + describe_ms(timeout));
    }
    co_return protocol::rpc_reply::failure(error_code::request_timeout,
                                           method + " to '" + server_.name + "' was cancelled");
  }

  std::string read_initialize_result(const json& result) {
    if (!result.is_object()) return "initialize result is not an object";
    const auto version = result.find("protocolVersion");
    if (version == result.end() || !version->is_string()) {
      return "initialize result has no protocolVersion";
    }
    if (!protocol::is_supported_version(version->get_ref<const std::string&>())) {
      return "answered with protocol version " + version->get<std::string>() +
             ", which manifold does not speak";
    }
    info_.protocol_version = version->get<std::string>();
    if (const auto caps = result.find("capabilities"); caps != result.end() && caps->is_object()) {
      info_.capabilities = *caps;
    }
    if (const auto si = result.find("serverInfo"); si != result.end() && si->is_object()) {
      info_.server_info = *si;
    }
    if (const auto ins = result.find("instructions"); ins != result.end() && ins->is_string()) {
      info_.instructions = ins->get<std::string>();
    }
    return {};
  }

  asio::awaitable<bool> fail(std::string why) {
    problem_ = std::move(why);
    spdlog::error("[{}] {}; leaving it out", server_.name, problem_);
    state_ = upstream_state::failed;
    fail_pending("upstream '" + server_.name + "' failed: " + problem_);
    co_await link_->close(milliseconds(1500));
    co_return false;
  }

  void fail_pending(const std::string& why) {
    for (auto& [id, pending] : pending_) {
      pending->reply = protocol::rpc_reply::failure(error_code::connection_closed, why);
      pending->timer.cancel();
    }
  }

  // The only reader of the upstream's output: replies, notifications, and requests.
  static asio::awaitable<void> read_loop(std::shared_ptr<client_session> self) {
    while (auto frame = co_await self->channel_->receive()) {
      if (frame->oversized) {
        spdlog::warn("[{}] sent a message of {} bytes, over the limit; dropped", self->server_.name,
                     frame->size);
        continue;
      }
      auto parsed = protocol::parse_message(frame->text);
      if (!parsed.msg) {
        spdlog::warn("[{}] wrote a line that is not JSON-RPC; ignored: {:.200}", self->server_.name,
                     frame->text);
        continue;
      }
      self->dispatch(*parsed.msg);
    }
    const auto reason = self->link_->end_reason();
    if (self->state_ == upstream_state::ready || self->state_ == upstream_state::starting) {
      self->problem_ = "closed its output" + (reason.empty() ? "" : " (" + reason + ")");
      spdlog::error("[{}] {}", self->server_.name, self->problem_);
      self->state_ = upstream_state::closed;
    }
    self->fail_pending("upstream '" + self->server_.name + "' " +
                       (self->problem_.empty() ? "closed" : self->problem_));
  }

  void dispatch(const protocol::message& msg) {
    switch (msg.kind) {
      case protocol::message_kind::response:
      case protocol::message_kind::error_response:
        deliver(msg);
        return;
      case protocol::message_kind::request:
        answer_request(msg);
        return;
      case protocol::message_kind::notification:
        if (on_notification_) on_notification_(msg);
        return;
    }
  }

  void deliver(const protocol::message& msg) {
    const auto& id = msg.body["id"];
    const auto it = id.is_number_integer() ? pending_.find(id.get<std::int64_t>()) : pending_.end();
    if (it == pending_.end()) {
      spdlog::debug("[{}] reply for unknown or abandoned id {}; dropped", server_.name, id);
      return;
    }
    auto* pending = it->second;
    if (msg.kind == protocol::message_kind::response) {
      pending->reply = protocol::rpc_reply{msg.body["result"], std::nullopt};
    } else {
      pending->reply = protocol::rpc_reply{nullptr, protocol::rpc_error::from_json(msg.body["error"])};
    }
    pending->timer.cancel();
  }

  // Requests from the upstream to manifold. ping is answered here.
  void answer_request(const protocol::message& msg) {
    const auto method = msg.method();
    if (method == "ping") {
      channel_->send(protocol::serialize(protocol::make_result(msg.id(), json::object())));
      return;
    }
    spdlog::warn("[{}] sent request {}, which manifold does not relay; answered -32601",
                 server_.name, method);
    channel_->send(protocol::serialize(protocol::make_error(
        msg.id(), {error_code::method_not_found, "Method not found: " + std::string(method),
                   std::nullopt})));
  }

  asio::any_io_executor executor_;
  config::server_config server_;
  std::unique_ptr<transport> link_;
  std::shared_ptr<protocol::channel> channel_;
  upstream_state state_ = upstream_state::created;
  upstream_info info_;
  std::string problem_;
  std::int64_t next_id_ = 1;
  std::unordered_map<std::int64_t, pending_call*> pending_;
  notification_handler on_notification_;
};

}  // namespace

std::shared_ptr<upstream> make_upstream(asio::any_io_executor executor,
                                        const config::server_config& server,
                                        std::unique_ptr<transport> link) {
  return std::make_shared<client_session>(std::move(executor), server, std::move(link));
}

}  // namespace manifold::upstream
