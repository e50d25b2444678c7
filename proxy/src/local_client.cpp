#include "manifold/proxy/local_client.hpp"

#include <boost/asio/co_spawn.hpp>
#include <spdlog/spdlog.h>

#include "manifold/io/event.hpp"
#include "manifold/io/memory_channel.hpp"
#include "manifold/io/request_tracker.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/protocol_version.hpp"
#include "manifold/version.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;
using protocol::json;
using protocol::rpc_reply;

struct local_client::state : std::enable_shared_from_this<local_client::state> {
  std::shared_ptr<protocol::channel> link;  // the host's end
  std::shared_ptr<host_session> session;
  request_handler on_request;
  io::request_tracker requests;
  io::event session_done;
  io::event reader_done;

  // Everything the session sends its host: replies to our requests, its own requests.
  static asio::awaitable<void> read(std::shared_ptr<state> self) {
    while (auto frame = co_await self->link->receive()) {
      auto parsed = protocol::parse_message(frame->text);
      if (!parsed.msg) continue;
      auto& msg = *parsed.msg;
      switch (msg.kind) {
        case protocol::message_kind::response:
          self->requests.deliver(msg.id(), {msg.body["result"], std::nullopt});
          break;
        case protocol::message_kind::error_response:
          self->requests.deliver(msg.body["id"], {nullptr, protocol::rpc_error::from_json(msg.body["error"])});
          break;
        case protocol::message_kind::request: {
          auto reply = self->on_request ? self->on_request(msg)
                                        : rpc_reply::failure(protocol::error_code::method_not_found,
                                                             "this client answers no requests");
          self->link->send(protocol::serialize(reply.ok() ? protocol::make_result(msg.id(), std::move(reply.result))
                                                          : protocol::make_error(msg.id(), *reply.error)));
          break;
        }
        case protocol::message_kind::notification:
          break;
      }
    }
    self->requests.fail_all(rpc_reply::failure(protocol::error_code::connection_closed, "the session ended"));
    self->reader_done.set();
  }
};

local_client::local_client(asio::any_io_executor executor, relay& relay, group_view group,
                           session_identity who, request_handler on_request)
    : state_(std::make_shared<state>()) {
  auto [host_end, server_end] = io::make_channel_pair();
  state_->link = std::move(host_end);
  state_->on_request = std::move(on_request);
  state_->session = relay.open_session(std::move(server_end), std::move(group), std::move(who));
  asio::co_spawn(executor, state_->session->run(),
                 [s = state_](const std::exception_ptr& e) {
                   io::log_failure("local host session")(e);
                   s->session_done.set();
                 });
  asio::co_spawn(executor, state::read(state_), io::log_failure("local host reader"));
}

local_client::~local_client() { state_->link->close(); }

asio::awaitable<rpc_reply> local_client::initialize(json capabilities,
                                                    std::chrono::steady_clock::time_point deadline) {
  json params{{"protocolVersion", protocol::latest_version},
              {"capabilities", std::move(capabilities)},
              {"clientInfo", {{"name", "manifold"}, {"version", manifold::version}}}};
  auto reply = co_await request("initialize", std::move(params), deadline);
  if (reply.ok()) {
    state_->link->send(protocol::serialize(protocol::make_notification("notifications/initialized", nullptr)));
  }
  co_return reply;
}

asio::awaitable<rpc_reply> local_client::request(std::string method, json params,
                                                 std::chrono::steady_clock::time_point deadline) {
  // (the function is built outside co_await: GCC 12 mis-compiles temporaries inside it)
  io::request_tracker::send_fn send = [weak = std::weak_ptr<state>(state_)](json message) {
    if (auto s = weak.lock()) s->link->send(protocol::serialize(message));
  };
  auto done = co_await state_->requests.exchange(method, std::move(params), deadline, nullptr, std::move(send));
  if (done.how == io::request_tracker::outcome::timed_out) {
    co_return rpc_reply::failure(protocol::error_code::request_timeout, method + " was not answered in time");
  }
  co_return std::move(done.reply);
}

asio::awaitable<void> local_client::close() {
  state_->link->close_outbound();
  co_await state_->session_done.wait_until(std::chrono::steady_clock::now() + std::chrono::seconds(70));
}

}  // namespace manifold::proxy
