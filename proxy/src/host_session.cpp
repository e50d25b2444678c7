#include "manifold/proxy/host_session.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include "manifold/io/event.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/protocol_version.hpp"
#include "manifold/version.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;
namespace error_code = protocol::error_code;
using protocol::json;
using protocol::rpc_error;

namespace {

enum class lifecycle { awaiting_initialize, initialized, operating };

// A request's failure, answered as a JSON-RPC error. Internal exceptions never reach the host.
rpc_error invalid_params(std::string message) {
  return {error_code::invalid_params, std::move(message), std::nullopt};
}

class session final : public host_session, public std::enable_shared_from_this<session> {
 public:
  session(asio::any_io_executor executor, std::shared_ptr<protocol::channel> link,
          backend& backend, session_options options)
      : executor_(std::move(executor)), link_(std::move(link)), backend_(backend),
        options_(options) {}

  asio::awaitable<void> run() override {
    auto self = shared_from_this();
    while (auto frame = co_await link_->receive()) {
      if (stopped_) break;
      if (frame->oversized) {
        spdlog::warn("host sent a message of {} bytes, over the {} byte limit; rejected",
                     frame->size, options_.max_message_bytes);
        send(protocol::make_error(nullptr, {error_code::invalid_request,
                                            "Invalid Request: message of " +
                                                std::to_string(frame->size) +
                                                " bytes exceeds the limit of " +
                                                std::to_string(options_.max_message_bytes),
                                            std::nullopt}));
        continue;
      }
      auto parsed = protocol::parse_message(frame->text);
      if (!parsed.msg) {
        spdlog::warn("host sent an invalid message: {:.200}", frame->text);
        send(*parsed.error_reply);
        continue;
      }
      on_message(std::move(*parsed.msg));
    }
    // The host closed its side: let in-flight requests finish (each has a deadline).
    closing_ = true;
    if (in_flight_ > 0) {
      spdlog::debug("host closed its input; waiting for {} in-flight requests", in_flight_);
      co_await drained_.wait_until(std::chrono::steady_clock::time_point::max());
    }
  }

  void stop() override {
    stopped_ = true;
    link_->close();
    drained_.set();
  }

 private:
  void on_message(protocol::message msg) {
    switch (msg.kind) {
      case protocol::message_kind::request:
        ++in_flight_;
        asio::co_spawn(executor_, handle_request(shared_from_this(), std::move(msg)),
                       asio::detached);
        return;
      case protocol::message_kind::notification:
        on_notification(msg);
        return;
      case protocol::message_kind::response:
      case protocol::message_kind::error_response:
        spdlog::debug("host sent a response to id {} that matches no request; ignored",
                      msg.body.value("id", json()).dump());
        return;
    }
  }

  void on_notification(const protocol::message& msg) {
    const auto method = msg.method();
    if (method == "notifications/initialized") {
      if (state_ == lifecycle::initialized) state_ = lifecycle::operating;
      return;
    }
    spdlog::debug("host notification {} ignored", method);
  }

  static asio::awaitable<void> handle_request(std::shared_ptr<session> self, protocol::message msg) {
    json reply;
    try {
      reply = co_await self->dispatch(msg);
    } catch (const std::exception& e) {
      spdlog::error("internal error handling {}: {}", msg.method(), e.what());
      reply = protocol::make_error(msg.id(), {error_code::internal_error,
                                              "Internal error in manifold", std::nullopt});
    }
    self->send(reply);
    if (--self->in_flight_ == 0 && self->closing_) self->drained_.set();
  }

  // Returns the complete response (result or error) for one request, with the host's id.
  asio::awaitable<json> dispatch(const protocol::message& msg) {
    const auto method = msg.method();
    const auto& id = msg.id();
    if (method == "ping") co_return protocol::make_result(id, json::object());
    if (method == "initialize") co_return co_await initialize(msg);
    // Requests pipelined behind initialize wait for its answer; before it, they are refused.
    if (initializing_) co_await initialized_.wait_until(backend_.ready_deadline());
    if (state_ == lifecycle::awaiting_initialize) {
      co_return protocol::make_error(
          id, {error_code::invalid_request,
               "Invalid Request: the session is not initialized; send initialize first",
               std::nullopt});
    }
    if (method == "tools/list") co_return co_await list_tools(msg);
    if (method == "tools/call") co_return co_await call_tool(msg);
    co_return protocol::make_error(
        id, {error_code::method_not_found, "Method not found: " + std::string(method), std::nullopt});
  }

  asio::awaitable<json> initialize(const protocol::message& msg) {
    const auto& id = msg.id();
    if (state_ != lifecycle::awaiting_initialize || initializing_) {
      co_return protocol::make_error(
          id, {error_code::invalid_request, "Invalid Request: initialize was already received",
               std::nullopt});
    }
    const auto params = msg.params();
    const auto version = params.find("protocolVersion");
    if (!params.is_object() || version == params.end() || !version->is_string()) {
      co_return protocol::make_error(id,
                                     invalid_params("initialize needs a string protocolVersion"));
    }
    initializing_ = true;
    if (!co_await backend_.wait_ready(backend_.ready_deadline())) {
      spdlog::warn("upstreams still starting when initialize was answered");
    }
    initializing_ = false;
    initialized_.set();
    client_capabilities_ = params.value("capabilities", json::object());
    client_info_ = params.value("clientInfo", json::object());
    negotiated_ = std::string(protocol::negotiate_version(version->get_ref<const std::string&>()));
    state_ = lifecycle::initialized;
    spdlog::info("host {} {} initialized (protocol {})", client_info_.value("name", "?"),
                 client_info_.value("version", "?"), negotiated_);
    co_return protocol::make_result(
        id, {{"protocolVersion", negotiated_},
             {"capabilities", {{"tools", json::object()}}},
             {"serverInfo", {{"name", "manifold"}, {"version", manifold::version}}}});
  }

  asio::awaitable<json> list_tools(const protocol::message& msg) {
    const auto params = msg.params();
    if (params.is_object() && params.contains("cursor") && !params["cursor"].is_null()) {
      co_return protocol::make_error(msg.id(), invalid_params("Invalid cursor"));
    }
    co_await backend_.wait_ready(backend_.ready_deadline());
    json tools = json::array();
    if (const auto catalog = backend_.snapshot()) {
      for (const auto& tool : catalog->tools()) tools.push_back(tool.definition);
    }
    co_return protocol::make_result(msg.id(), {{"tools", std::move(tools)}});
  }

  asio::awaitable<json> call_tool(const protocol::message& msg) {
    const auto& id = msg.id();
    auto params = msg.params();
    if (!params.is_object()) co_return protocol::make_error(id, invalid_params("params must be an object"));
    const auto name = params.find("name");
    if (name == params.end() || !name->is_string()) {
      co_return protocol::make_error(id, invalid_params("tools/call needs a string `name`"));
    }
    if (const auto args = params.find("arguments");
        args != params.end() && !args->is_object() && !args->is_null()) {
      co_return protocol::make_error(id, invalid_params("`arguments` must be an object"));
    }
    co_await backend_.wait_ready(backend_.ready_deadline());
    // The snapshot is held for the whole call: a catalog swap never changes a call in flight.
    const auto catalog = backend_.snapshot();
    const auto* tool = catalog ? catalog->find_tool(name->get_ref<const std::string&>()) : nullptr;
    if (tool == nullptr) {
      co_return protocol::make_error(
          id, invalid_params("Unknown tool: " + name->get<std::string>()));
    }
    auto* upstream = backend_.peer(tool->server);
    if (upstream == nullptr) {
      co_return protocol::make_error(
          id, {error_code::internal_error, "no upstream serves " + tool->name, std::nullopt});
    }
    params["name"] = tool->original_name;
    auto reply = co_await upstream->call("tools/call", std::move(params), {});
    if (!reply.ok()) {
      spdlog::warn("tools/call {} -> [{}] failed: {} ({})", tool->name, tool->server,
                   reply.error->message, reply.error->code);
      co_return protocol::make_error(id, *reply.error);
    }
    co_return protocol::make_result(id, std::move(reply.result));
  }

  void send(const json& message) {
    if (!stopped_) link_->send(protocol::serialize(message));
  }

  asio::any_io_executor executor_;
  std::shared_ptr<protocol::channel> link_;
  backend& backend_;
  session_options options_;
  lifecycle state_ = lifecycle::awaiting_initialize;
  bool initializing_ = false;
  std::string negotiated_;
  json client_capabilities_ = json::object();
  json client_info_ = json::object();
  std::size_t in_flight_ = 0;
  bool closing_ = false;
  bool stopped_ = false;
  io::event drained_;
  io::event initialized_;
};

}  // namespace

std::shared_ptr<host_session> make_host_session(asio::any_io_executor executor,
                                                std::shared_ptr<protocol::channel> link,
                                                backend& backend, session_options options) {
  return std::make_shared<session>(std::move(executor), std::move(link), backend, options);
}

}  // namespace manifold::proxy
