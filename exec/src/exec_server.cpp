#include "manifold/exec/exec_server.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <map>

#include "manifold/exec/deny_list.hpp"
#include "manifold/io/event.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/peer.hpp"
#include "manifold/protocol/protocol_version.hpp"
#include "manifold/version.hpp"
#include "server_parts.hpp"

namespace manifold::exec {

namespace asio = boost::asio;
namespace error_code = protocol::error_code;
using clock = std::chrono::steady_clock;

namespace detail {

compiled_tool::compiled_tool(const config::exec_tool& tool)
    : cfg(&tool), args(tool), profile(profile_of(tool.profile, tool.binary)) {}

json compiled_tool::definition() const {
  json out{{"name", cfg->name}, {"inputSchema", args.input_schema()}};
  if (!cfg->title.empty()) out["title"] = cfg->title;
  out["description"] = cfg->description.empty() ? cfg->name : cfg->description;
  if (!cfg->annotations.empty()) out["annotations"] = cfg->annotations;
  const char* kind = cfg->kind == config::exec_kind::http  ? "http"
                     : cfg->kind == config::exec_kind::sql ? "sql"
                                                           : "cli";
  json meta{
      {"kind", kind}, {"sensitive", cfg->sensitive}, {"untrusted_output", cfg->untrusted_output}};
  if (!cfg->preview.empty()) meta["preview"] = cfg->preview;
  if (!plans_for.empty()) meta["previews"] = plans_for;
  if (cfg->stream.enabled) meta["stream"] = true;
  out["_meta"] = {{"manifold/exec", std::move(meta)}};
  return out;
}

}  // namespace detail

namespace {

using detail::call_context;
using detail::compiled_tool;

struct call_state {
  std::shared_ptr<process_control> control;
  bool cancelled = false;
};

class server_impl final : public exec_server, public std::enable_shared_from_this<server_impl> {
 public:
  server_impl(asio::any_io_executor executor, const config::server_config& server,
              std::shared_ptr<protocol::channel> link)
      : executor_(std::move(executor)), server_(server), link_(std::move(link)) {
    for (const auto& t : server_.exec->tools) tools_.push_back(std::make_unique<compiled_tool>(t));
    for (auto& t : tools_) {
      if (t->cfg->preview.empty()) continue;
      for (auto& p : tools_) {
        if (p->cfg->name == t->cfg->preview) p->plans_for.push_back(t->cfg->name);
      }
    }
  }

  asio::awaitable<void> run() override {
    auto self = shared_from_this();
    while (auto frame = co_await link_->receive()) {
      if (stopped_) break;
      if (frame->oversized) continue;
      auto parsed = protocol::parse_message(frame->text);
      if (!parsed.msg) {
        if (parsed.error_reply) link_->send(protocol::serialize(*parsed.error_reply));
        continue;
      }
      dispatch(std::move(*parsed.msg));
    }
    stop();
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    for (auto& [id, call] : calls_) {
      call->cancelled = true;
      if (call->control && call->control->cancel) call->control->cancel();
    }
    link_->close();
  }

  [[nodiscard]] std::vector<hidden_tool> hidden() const override {
    std::vector<hidden_tool> out;
    for (const auto& t : tools_) {
      if (!t->hidden_reason.empty()) out.push_back({t->cfg->name, t->hidden_reason});
    }
    return out;
  }

  [[nodiscard]] std::size_t running() const override { return running_; }

 private:
  void dispatch(protocol::message msg) {
    if (msg.kind == protocol::message_kind::request) {
      asio::co_spawn(executor_, answer(shared_from_this(), std::move(msg)), asio::detached);
      return;
    }
    if (msg.kind == protocol::message_kind::notification &&
        msg.method() == "notifications/cancelled") {
      const auto params = msg.params();
      const auto* id = protocol::member(params, "requestId");
      if (id == nullptr) return;
      const auto it = calls_.find(id->dump());
      if (it == calls_.end()) return;
      it->second->cancelled = true;
      if (it->second->control->cancel) it->second->control->cancel();
    }
  }

  static asio::awaitable<void> answer(std::shared_ptr<server_impl> self, protocol::message msg) {
    const auto method = std::string(msg.method());
    const auto params = msg.params();
    protocol::rpc_reply reply;
    try {
      reply = co_await self->handle(method, params, msg.id());
    } catch (const std::exception& e) {
      spdlog::error("[{}] {} failed: {}", self->server_.name, method, e.what());
      reply = protocol::rpc_reply::failure(error_code::internal_error,
                                           "internal error in the exec server");
    }
    if (reply.cancelled || self->stopped_) co_return;
    self->link_->send(
        protocol::serialize(reply.ok() ? protocol::make_result(msg.id(), std::move(reply.result))
                                       : protocol::make_error(msg.id(), *reply.error)));
  }

  asio::awaitable<protocol::rpc_reply> handle(const std::string& method, const json& params,
                                              const json& id) {
    protocol::rpc_reply reply;
    if (method == "ping") {
      reply.result = json::object();
    } else if (method == "initialize") {
      co_await self_check();
      reply.result = initialize_result(protocol::string_or(params, "protocolVersion"));
    } else if (method == "tools/list") {
      co_await self_check();
      json tools = json::array();
      for (const auto& t : tools_) {
        if (t->hidden_reason.empty()) tools.push_back(t->definition());
      }
      reply.result = {{"tools", std::move(tools)}};
    } else if (method == "tools/call") {
      co_await self_check();
      reply = co_await call(params, id);
    } else {
      reply =
          protocol::rpc_reply::failure(error_code::method_not_found, "Method not found: " + method);
    }
    co_return reply;
  }

  json initialize_result(std::string_view requested) const {
    json hidden_list = json::array();
    for (const auto& h : hidden()) hidden_list.push_back({{"tool", h.tool}, {"reason", h.reason}});
    return {
        {"protocolVersion", protocol::negotiate_version(requested)},
        {"capabilities", {{"tools", {{"listChanged", false}}}}},
        {"serverInfo", {{"name", "manifold-exec/" + server_.name}, {"version", manifold::version}}},
        {"_meta",
         {{"manifold/exec", {{"hidden", std::move(hidden_list)}, {"version", version_}}}}}};
  }

  // Runs the self-check once; concurrent callers wait for it (bounded by startup_timeout).
  asio::awaitable<void> self_check() {
    if (checked_.is_set()) co_return;
    if (check_started_) {
      co_await checked_.wait_until(clock::now() + server_.startup_timeout);
      co_return;
    }
    check_started_ = true;
    try {
      version_ = co_await detail::run_self_check(executor_, server_, tools_);
    } catch (const std::exception& e) {
      spdlog::error("[{}] self-check failed: {}", server_.name, e.what());
    }
    checked_.set();
  }

  asio::awaitable<protocol::rpc_reply> call(const json& params, const json& id) {
    const auto name = protocol::string_member(params, "name");
    if (!name)
      co_return protocol::rpc_reply::failure(error_code::invalid_params,
                                             "tools/call needs a string `name`");
    const auto it = std::find_if(tools_.begin(), tools_.end(),
                                 [&](const auto& t) { return t->cfg->name == *name; });
    if (it == tools_.end() || !(*it)->hidden_reason.empty()) {
      co_return protocol::rpc_reply::failure(error_code::invalid_params,
                                             "Unknown tool: " + std::string(*name));
    }
    protocol::rpc_reply reply;
    if (running_ >= server_.exec->max_concurrent) {
      reply.result =
          detail::failed("busy: " + std::to_string(running_) +
                         " runs of this server are in flight; try again when one has finished");
      co_return reply;
    }
    const auto key = id.dump();
    auto state = std::make_shared<call_state>();
    call_context ctx = make_context();
    state->control = ctx.control;
    if (const auto* meta = protocol::object_member(params, "_meta")) {
      if (const auto* token = protocol::member(*meta, "progressToken");
          token != nullptr && (token->is_string() || token->is_number_integer())) {
        ctx.progress_token = *token;
        std::weak_ptr<server_impl> weak = shared_from_this();
        ctx.notify_progress = [weak](json p) {
          if (auto self = weak.lock(); self && !self->stopped_) {
            self->link_->send(protocol::serialize(
                protocol::make_notification("notifications/progress", std::move(p))));
          }
        };
      }
    }
    calls_[key] = state;
    ++running_;
    const auto arguments = params.contains("arguments") ? params["arguments"] : json::object();
    const auto& tool = **it;
    if (tool.cfg->kind == config::exec_kind::http) {
      reply.result = co_await detail::run_http_tool(tool, arguments, ctx);
    } else if (tool.cfg->kind == config::exec_kind::sql) {
      reply.result = co_await detail::run_sql_tool(tool, arguments, ctx);
    } else {
      reply.result = co_await detail::run_cli_tool(tool, arguments, ctx);
    }
    --running_;
    calls_.erase(key);
    reply.cancelled = state->cancelled;
    co_return reply;
  }

  call_context make_context() {
    call_context ctx;
    ctx.executor = executor_;
    ctx.exec = &*server_.exec;
    ctx.server = server_.name;
    ctx.plans = &plans_;
    ctx.tools = &tools_;
    return ctx;
  }

  asio::any_io_executor executor_;
  config::server_config server_;
  std::shared_ptr<protocol::channel> link_;
  std::vector<std::unique_ptr<compiled_tool>> tools_;
  plan_store plans_;
  std::map<std::string, std::shared_ptr<call_state>> calls_;
  std::size_t running_ = 0;
  bool stopped_ = false;
  bool check_started_ = false;
  io::event checked_;
  std::string version_;
};

}  // namespace

std::shared_ptr<exec_server> make_exec_server(asio::any_io_executor executor,
                                              const config::server_config& server,
                                              std::shared_ptr<protocol::channel> link) {
  if (!server.exec)
    throw std::invalid_argument("server '" + server.name + "' is not an exec server");
  return std::make_shared<server_impl>(std::move(executor), server, std::move(link));
}

}  // namespace manifold::exec
