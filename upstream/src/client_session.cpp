#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include "manifold/io/event.hpp"
#include "manifold/io/request_tracker.hpp"
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
    case upstream_state::launched:
      return "launched";
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
  void on_request(request_handler handler) override { on_request_ = std::move(handler); }

  asio::awaitable<void> launch() override {
    if (launch_started_) {  // a second caller waits for the first
      co_await launched_.wait_until(launch_deadline_);
      co_return;
    }
    launch_started_ = true;
    launch_deadline_ = clock::now() + server_.startup_timeout;
    std::string open_error;
    try {
      channel_ = co_await link_->open();
    } catch (const std::exception& e) {
      open_error = e.what();
    }
    if (!channel_) {
      co_await fail("failed to start: " + open_error);
      launched_.set();
      co_return;
    }
    state_ = upstream_state::launched;
    asio::co_spawn(executor_, read_loop(shared_from_this()), asio::detached);
    launched_.set();
  }

  asio::awaitable<bool> start(json client_capabilities) override {
    co_await launch();
    if (state_ != upstream_state::launched) co_return false;
    state_ = upstream_state::starting;
    // The deadline counts from the launch: a child that takes all of it to boot fails.
    const auto deadline = std::max(launch_deadline_, clock::now() + milliseconds(100));
    json params{{"protocolVersion", protocol::latest_version},
                {"capabilities", std::move(client_capabilities)},
                {"clientInfo", {{"name", "manifold"}, {"version", manifold::version}}}};
    auto reply = co_await request("initialize", std::move(params), deadline,
                                  server_.startup_timeout, nullptr);
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
    co_return co_await request(std::move(method), std::move(params), clock::now() + timeout,
                               timeout, std::move(options.control));
  }

  void notify(std::string method, json params) override {
    if (channel_) {
      channel_->send(protocol::serialize(protocol::make_notification(method, std::move(params))));
    }
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

  asio::awaitable<void> drain() override {
    // Bounded: the longest a request can take is the configured timeout.
    const auto deadline = clock::now() + server_.timeout;
    while (requests_.in_flight() > 0 && clock::now() < deadline) {
      asio::steady_timer tick(executor_, milliseconds(20));
      co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  asio::awaitable<void> stop(milliseconds budget) override {
    if (state_ == upstream_state::closed) co_return;
    if (state_ != upstream_state::failed) state_ = upstream_state::closed;
    requests_.fail_all(protocol::rpc_reply::failure(
        error_code::connection_closed, "upstream '" + server_.name + "' is shutting down"));
    co_await link_->close(budget);
  }

 private:
  asio::awaitable<protocol::rpc_reply> request(std::string method, json params,
                                               clock::time_point deadline, milliseconds timeout,
                                               std::shared_ptr<protocol::call_control> control) {
    const auto id = requests_.next_id();
    channel_->send(protocol::serialize(protocol::make_request(id, method, std::move(params))));
    if (control) {
      std::weak_ptr<client_session> weak = shared_from_this();
      control->cancel = [weak, id](const std::string& reason) {
        auto self = weak.lock();
        if (!self || !self->requests_.cancel(id)) return;
        self->notify("notifications/cancelled", {{"requestId", id}, {"reason", reason}});
      };
    }
    auto done = co_await requests_.wait(id, deadline);
    if (control) control->cancel = nullptr;
    switch (done.how) {
      case io::request_tracker::outcome::replied:
        co_return std::move(done.reply);
      case io::request_tracker::outcome::cancelled: {
        auto out = protocol::rpc_reply::failure(error_code::request_timeout,
                                                method + " was cancelled");
        out.cancelled = true;
        co_return out;
      }
      case io::request_tracker::outcome::timed_out:
        break;
    }
    notify("notifications/cancelled", {{"requestId", id}, {"reason", "timeout"}});
    spdlog::warn("[{}] {} timed out", server_.name, method);
    co_return protocol::rpc_reply::failure(
        error_code::request_timeout,
        "upstream '" + server_.name + "' did not answer " + method + " within " +
            describe_ms(timeout));
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
    if (const auto meta = result.find("_meta"); meta != result.end() && meta->is_object()) {
      info_.meta = *meta;
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
    requests_.fail_all(protocol::rpc_reply::failure(
        error_code::connection_closed, "upstream '" + server_.name + "' failed: " + problem_));
    co_await link_->close(milliseconds(1500));
    co_return false;
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
      self->dispatch(std::move(*parsed.msg));
    }
    const auto reason = self->link_->end_reason();
    if (self->state_ != upstream_state::failed && self->state_ != upstream_state::closed) {
      self->problem_ = "closed its output" + (reason.empty() ? "" : " (" + reason + ")");
      spdlog::error("[{}] {}", self->server_.name, self->problem_);
      self->state_ = upstream_state::closed;
    }
    self->requests_.fail_all(protocol::rpc_reply::failure(
        error_code::connection_closed,
        "upstream '" + self->server_.name + "' " +
            (self->problem_.empty() ? "closed" : self->problem_)));
  }

  void dispatch(protocol::message msg) {
    switch (msg.kind) {
      case protocol::message_kind::response:
        if (!requests_.deliver(msg.id(), {msg.body["result"], std::nullopt})) late_reply(msg);
        return;
      case protocol::message_kind::error_response:
        if (!requests_.deliver(msg.body["id"],
                               {nullptr, protocol::rpc_error::from_json(msg.body["error"])})) {
          late_reply(msg);
        }
        return;
      case protocol::message_kind::request:
        asio::co_spawn(executor_, answer_request(shared_from_this(), std::move(msg)),
                       asio::detached);
        return;
      case protocol::message_kind::notification:
        if (on_notification_) on_notification_(msg);
        return;
    }
  }

  void late_reply(const protocol::message& msg) {
    spdlog::debug("[{}] reply for unknown, timed-out or cancelled id {}; dropped", server_.name,
                  msg.body.value("id", json()).dump());
  }

  // Requests from the upstream to manifold: ping here, the rest through the handler.
  static asio::awaitable<void> answer_request(std::shared_ptr<client_session> self,
                                              protocol::message msg) {
    const auto method = std::string(msg.method());
    protocol::rpc_reply reply;
    if (method == "ping") {
      reply.result = json::object();
    } else if (self->on_request_) {
      reply = co_await self->on_request_(msg);
    } else {
      reply = protocol::rpc_reply::failure(error_code::method_not_found,
                                           "Method not found: " + method);
    }
    if (!self->channel_) co_return;
    self->channel_->send(protocol::serialize(
        reply.ok() ? protocol::make_result(msg.id(), std::move(reply.result))
                   : protocol::make_error(msg.id(), *reply.error)));
  }

  asio::any_io_executor executor_;
  config::server_config server_;
  std::unique_ptr<transport> link_;
  std::shared_ptr<protocol::channel> channel_;
  upstream_state state_ = upstream_state::created;
  upstream_info info_;
  std::string problem_;
  clock::time_point launch_deadline_;
  bool launch_started_ = false;
  io::event launched_;
  io::request_tracker requests_;
  notification_handler on_notification_;
  request_handler on_request_;
};

}  // namespace

std::shared_ptr<upstream> make_upstream(asio::any_io_executor executor,
                                        const config::server_config& server,
                                        std::unique_ptr<transport> link) {
  return std::make_shared<client_session>(std::move(executor), server, std::move(link));
}

}  // namespace manifold::upstream
