#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include "manifold/io/event.hpp"
#include "manifold/io/parallel.hpp"
#include "manifold/io/request_tracker.hpp"
#include "manifold/namespace/task_ids.hpp"
#include "manifold/namespace/uri_rewrite.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/protocol_version.hpp"
#include "manifold/proxy/meta_tools.hpp"
#include "manifold/proxy/pagination.hpp"
#include "manifold/version.hpp"
#include "relay_impl.hpp"

#include <valijson/adapters/nlohmann_json_adapter.hpp>
#include <valijson/schema.hpp>
#include <valijson/schema_parser.hpp>
#include <valijson/validation_results.hpp>
#include <valijson/validator.hpp>

namespace manifold::proxy {

namespace asio = boost::asio;
namespace error_code = protocol::error_code;
using protocol::rpc_error;
using protocol::rpc_reply;
using clock = std::chrono::steady_clock;

namespace {

enum class lifecycle { awaiting_initialize, initialized, operating };

rpc_error invalid_params(std::string message) {
  return {error_code::invalid_params, std::move(message), std::nullopt};
}

struct list_method {
  std::string_view method;
  ns::entry_kind kind;
  std::string_view key;
};
constexpr std::array<list_method, 4> list_methods{{
    {"tools/list", ns::entry_kind::tool, "tools"},
    {"prompts/list", ns::entry_kind::prompt, "prompts"},
    {"resources/list", ns::entry_kind::resource, "resources"},
    {"resources/templates/list", ns::entry_kind::resource_template, "resourceTemplates"},
}};

// The answer to one host request: a result, an error, or nothing (cancelled by the host).
struct answer {
  std::optional<json> result;
  std::optional<rpc_error> error;
  bool silent = false;

  static answer ok(json r) { return {std::move(r), std::nullopt, false}; }
  static answer fail(rpc_error e) { return {std::nullopt, std::move(e), false}; }
  static answer from(rpc_reply r) {
    if (r.cancelled) return {std::nullopt, std::nullopt, true};
    if (r.ok()) return ok(std::move(r.result));
    return fail(std::move(*r.error));
  }
};

// The host request being served: its id (for related messages) and its cancel handle.
struct request_ctx {
  json id;
  std::shared_ptr<protocol::call_control> control;
};

class session final : public host_session,
                      public host_endpoint,
                      public std::enable_shared_from_this<session> {
 public:
  session(asio::any_io_executor executor, std::shared_ptr<protocol::channel> link, relay_impl& hub,
          std::uint64_t id, group_view group)
      : executor_(std::move(executor)), link_(std::move(link)), hub_(hub), id_(id),
        group_(std::move(group)) {}

  // --- host_session ---
  asio::awaitable<void> run() override {
    auto self = shared_from_this();
    hub_.attach(self);
    while (auto frame = co_await link_->receive()) {
      if (stopped_) break;
      if (frame->oversized) {
        spdlog::warn("host sent a message of {} bytes, over the {} byte limit; rejected",
                     frame->size, hub_.options().max_message_bytes);
        send(protocol::make_error(nullptr, {error_code::invalid_request,
                                            "Invalid Request: message of " +
                                                std::to_string(frame->size) +
                                                " bytes exceeds the limit of " +
                                                std::to_string(hub_.options().max_message_bytes),
                                            std::nullopt}));
        continue;
      }
      spdlog::trace("host {} -> {:.500}", id_, frame->text);
      auto parsed = protocol::parse_message(frame->text);
      if (!parsed.msg) {
        spdlog::warn("host sent an invalid message: {:.200}", frame->text);
        send(*parsed.error_reply);
        continue;
      }
      hub_.touch(id_);
      on_message(std::move(*parsed.msg));
    }
    // The host closed its side: let in-flight requests finish (each has a deadline).
    closing_ = true;
    if (!in_flight_.empty()) {
      spdlog::debug("host closed its input; waiting for {} in-flight requests", in_flight_.size());
      co_await drained_.wait_until(clock::time_point::max());
    }
    outbound_.fail_all(rpc_reply::failure(error_code::connection_closed, "the host went away"));
    hub_.detach(id_);
  }

  void stop() override {
    stopped_ = true;
    for (auto& [id, control] : in_flight_) {
      if (control->cancel) control->cancel("the host session ended");
    }
    outbound_.fail_all(rpc_reply::failure(error_code::connection_closed, "the host went away"));
    link_->close();
    drained_.set();
  }

  // --- host_endpoint ---
  [[nodiscard]] std::uint64_t id() const override { return id_; }
  [[nodiscard]] bool operating() const override {
    return state_ != lifecycle::awaiting_initialize && !stopped_;
  }
  [[nodiscard]] const json& client_capabilities() const override { return client_capabilities_; }
  [[nodiscard]] int log_threshold() const override { return log_threshold_; }

  void notify(std::string_view method, json params, const json& related) override {
    send(protocol::make_notification(method, std::move(params)), related);
  }

  asio::awaitable<rpc_reply> request(std::string method, json params,
                                     std::shared_ptr<protocol::call_control> control,
                                     const json& related) override {
    const auto id = outbound_.next_id();
    send(protocol::make_request(id, method, std::move(params)), related);
    if (control) {
      std::weak_ptr<session> weak = shared_from_this();
      control->cancel = [weak, id](const std::string& reason) {
        auto self = weak.lock();
        if (self && self->outbound_.cancel(id)) {
          self->notify("notifications/cancelled", {{"requestId", id}, {"reason", reason}}, nullptr);
        }
      };
    }
    auto done = co_await outbound_.wait(id, clock::now() + hub_.options().host_request_timeout);
    if (control) control->cancel = nullptr;
    switch (done.how) {
      case io::request_tracker::outcome::replied:
        co_return std::move(done.reply);
      case io::request_tracker::outcome::cancelled:
        co_return rpc_reply::failure(error_code::request_timeout, method + " was cancelled");
      case io::request_tracker::outcome::timed_out:
        break;
    }
    notify("notifications/cancelled", {{"requestId", id}, {"reason", "timeout"}}, nullptr);
    co_return rpc_reply::failure(error_code::request_timeout,
                                 "the host did not answer " + method + " in time");
  }

 private:
  void on_message(protocol::message msg) {
    switch (msg.kind) {
      case protocol::message_kind::request: {
        const auto key = msg.id().dump();
        if (in_flight_.count(key) != 0) {
          send(protocol::make_error(msg.id(), {error_code::invalid_request,
                                               "Invalid Request: id " + key + " is already in use",
                                               std::nullopt}));
          return;
        }
        in_flight_[key] = std::make_shared<protocol::call_control>();
        asio::co_spawn(executor_, handle_request(shared_from_this(), std::move(msg)),
                       asio::detached);
        return;
      }
      case protocol::message_kind::notification:
        on_notification(msg);
        return;
      case protocol::message_kind::response:
        outbound_.deliver(msg.body["id"], {msg.body["result"], std::nullopt});
        return;
      case protocol::message_kind::error_response:
        outbound_.deliver(msg.body["id"], {nullptr, rpc_error::from_json(msg.body["error"])});
        return;
    }
  }

  void on_notification(const protocol::message& msg) {
    const auto method = msg.method();
    if (method == "notifications/initialized") {
      if (state_ == lifecycle::initialized) {
        state_ = lifecycle::operating;
        hub_.session_operating();
      }
    } else if (method == "notifications/cancelled") {
      const auto params = msg.params();
      const auto request = params.is_object() ? params.find("requestId") : params.end();
      if (request == params.end()) return;
      const auto it = in_flight_.find(request->dump());
      if (it == in_flight_.end()) return;  // finished already, or never existed: ignored
      it->second->cancelled = true;
      if (it->second->cancel) {
        it->second->cancel(params.value("reason", std::string("cancelled by the host")));
      }
    } else if (method == "notifications/roots/list_changed") {
      hub_.roots_changed();
    } else if (method == "notifications/progress") {
      hub_.host_progress(msg.params());
    } else {
      spdlog::debug("host notification {} ignored", method);
    }
  }

  static asio::awaitable<void> handle_request(std::shared_ptr<session> self, protocol::message msg) {
    const auto key = msg.id().dump();
    const auto control = self->in_flight_[key];
    answer out;
    try {
      out = co_await self->dispatch(msg, control);
    } catch (const std::exception& e) {
      spdlog::error("internal error handling {}: {}", msg.method(), e.what());
      out = answer::fail({error_code::internal_error, "Internal error in manifold", std::nullopt});
    }
    self->in_flight_.erase(key);
    if (!out.silent && !control->cancelled) {
      self->send(out.error ? protocol::make_error(msg.id(), *out.error)
                           : protocol::make_result(msg.id(), std::move(*out.result)),
                 msg.id());
    } else if (!self->stopped_) {
      self->link_->end_related(msg.id());  // cancelled: no response, and its stream ends
    }
    if (self->in_flight_.empty() && self->closing_) self->drained_.set();
  }

  asio::awaitable<answer> dispatch(const protocol::message& msg,
                                   const std::shared_ptr<protocol::call_control>& control) {
    const auto method = msg.method();
    const request_ctx ctx{msg.id(), control};
    if (method == "ping") co_return answer::ok(json::object());
    if (method == "initialize") co_return co_await initialize(msg);
    // Requests pipelined behind initialize wait for its answer; before it, they are refused.
    if (initializing_) co_await initialized_.wait_until(hub_.upstreams().start_deadline());
    if (state_ == lifecycle::awaiting_initialize) {
      co_return answer::fail({error_code::invalid_request,
                              "Invalid Request: the session is not initialized; send initialize first",
                              std::nullopt});
    }
    auto params = msg.params();
    if (!params.is_object()) co_return answer::fail(invalid_params("params must be an object"));
    for (const auto& list : list_methods) {
      if (method == list.method) co_return list_page(list, params);
    }
    if (method == "tools/call") co_return co_await call_tool(std::move(params), ctx);
    if (method == "prompts/get") co_return co_await get_prompt(std::move(params), ctx);
    if (method == "resources/read") co_return co_await read_resource(std::move(params), ctx);
    if (method == "resources/subscribe" || method == "resources/unsubscribe") {
      co_return co_await subscription(method, params);
    }
    if (method == "completion/complete") co_return co_await complete(std::move(params), ctx);
    if (method == "logging/setLevel") co_return co_await set_level(params);
    if (method == "tasks/get" || method == "tasks/result" || method == "tasks/cancel") {
      co_return co_await task_request(std::string(method), std::move(params), ctx);
    }
    if (method == "tasks/list") co_return co_await list_tasks(params, ctx);
    co_return answer::fail(
        {error_code::method_not_found, "Method not found: " + std::string(method), std::nullopt});
  }

  asio::awaitable<answer> initialize(const protocol::message& msg) {
    if (state_ != lifecycle::awaiting_initialize || initializing_) {
      co_return answer::fail({error_code::invalid_request,
                              "Invalid Request: initialize was already received", std::nullopt});
    }
    const auto params = msg.params();
    const auto version = params.is_object() ? params.find("protocolVersion") : params.end();
    if (!params.is_object() || version == params.end() || !version->is_string()) {
      co_return answer::fail(invalid_params("initialize needs a string protocolVersion"));
    }
    initializing_ = true;
    client_capabilities_ = params.value("capabilities", json::object());
    if (!client_capabilities_.is_object()) client_capabilities_ = json::object();
    client_info_ = params.value("clientInfo", json::object());
    auto& upstreams = hub_.upstreams();
    if (!co_await upstreams.ensure_started(client_capabilities_, upstreams.start_deadline())) {
      spdlog::warn("upstreams still starting when initialize was answered");
    }
    negotiated_ = std::string(protocol::negotiate_version(version->get_ref<const std::string&>()));
    state_ = lifecycle::initialized;
    initializing_ = false;
    initialized_.set();
    spdlog::info("host {} {} initialized (protocol {})", client_info_.value("name", "?"),
                 client_info_.value("version", "?"), negotiated_);
    json result{{"protocolVersion", negotiated_},
                {"capabilities", upstreams.server_capabilities()},
                {"serverInfo", {{"name", "manifold"}, {"version", manifold::version}}}};
    if (auto instructions = upstreams.instructions(); !instructions.empty()) {
      result["instructions"] = std::move(instructions);
    }
    co_return answer::ok(std::move(result));
  }

  // The tools this session sees (its group's part of the catalog).
  std::vector<const ns::exposed_entry*> visible_tools(const ns::catalog& catalog) const {
    std::vector<const ns::exposed_entry*> out;
    for (const auto& t : catalog.tools()) {
      if (group_.admits(t.name)) out.push_back(&t);
    }
    return out;
  }

  // Too many tools for this host: it sees search_tools, describe_tool and call_tool.
  bool meta_mode(const ns::catalog& catalog) const {
    const auto& o = hub_.options();
    return o.meta_tools && o.tool_cap > 0 && visible_tools(catalog).size() > o.tool_cap;
  }

  answer list_page(const list_method& list, const json& params) {
    const auto catalog = hub_.upstreams().snapshot();
    if (list.kind == ns::entry_kind::tool && meta_mode(*catalog)) {
      if (params.contains("cursor") && !params["cursor"].is_null()) {
        return answer::fail(invalid_params("Invalid cursor"));
      }
      return answer::ok({{"tools", meta_tool_definitions()}});
    }
    std::vector<const ns::exposed_entry*> entries;
    for (const auto& e : catalog->entries(list.kind)) {
      if (group_.admits(e.name)) entries.push_back(&e);
    }
    const auto list_id = std::string(list.method) + "@" + group_.name;
    std::size_t offset = 0;
    if (const auto cursor = params.find("cursor"); cursor != params.end() && !cursor->is_null()) {
      const auto decoded = cursor->is_string()
                               ? decode_cursor(cursor->get_ref<const std::string&>(), list_id,
                                               catalog->generation())
                               : std::nullopt;
      if (!decoded || *decoded > entries.size()) {
        return answer::fail(invalid_params("Invalid cursor (the list may have changed; list again)"));
      }
      offset = *decoded;
    }
    const auto page = hub_.options().page_size == 0 ? entries.size() : hub_.options().page_size;
    const auto end = std::min(entries.size(), offset + page);
    json items = json::array();
    for (auto i = offset; i < end; ++i) items.push_back(entries[i]->definition);
    json result{{std::string(list.key), std::move(items)}};
    if (end < entries.size()) result["nextCursor"] = encode_cursor(list_id, catalog->generation(), end);
    return answer::ok(std::move(result));
  }

  // Sends `method` to `server` for this session: progress token mapped, cancellation
  // wired, the call registered for routing of the upstream's requests back to this host.
  asio::awaitable<rpc_reply> forward(const std::string& server, std::string method, json params,
                                     const std::shared_ptr<protocol::call_control>& control,
                                     const json& request_id) {
    if (control && control->cancelled) {
      auto out = rpc_reply::failure(error_code::request_timeout, method + " was cancelled");
      out.cancelled = true;
      co_return out;
    }
    auto* peer = hub_.upstreams().peer(server, id_, client_capabilities_);
    if (peer == nullptr) {
      co_return rpc_reply::failure(error_code::internal_error, "no upstream named " + server);
    }
    json minted;
    if (const auto meta = params.find("_meta"); meta != params.end() && meta->is_object()) {
      if (const auto token = meta->find("progressToken"); token != meta->end()) {
        minted = hub_.bind_progress(id_, *token, request_id);
        *token = minted;
      }
    }
    const auto ticket = hub_.begin_call(server, id_, request_id);
    protocol::call_options options{{}, control};
    auto reply = co_await peer->call(std::move(method), std::move(params), std::move(options));
    hub_.end_call(server, ticket);
    if (!minted.is_null()) hub_.release_progress(minted);
    co_return reply;
  }

  asio::awaitable<answer> call_tool(json params, request_ctx ctx) {
    const auto name = params.find("name");
    if (name == params.end() || !name->is_string()) {
      co_return answer::fail(invalid_params("tools/call needs a string `name`"));
    }
    if (is_meta_tool(name->get_ref<const std::string&>()) && meta_mode(*hub_.upstreams().snapshot())) {
      co_return co_await call_meta_tool(std::move(params), std::move(ctx));
    }
    co_return co_await call_real_tool(std::move(params), std::move(ctx));
  }

  static answer tool_text(const json& structured, bool error = false) {
    json out{{"content", json::array({{{"type", "text"}, {"text", structured.dump()}}})}};
    if (error) {
      out["isError"] = true;
    } else {
      out["structuredContent"] = structured;
    }
    return answer::ok(std::move(out));
  }

  asio::awaitable<answer> call_meta_tool(json params, request_ctx ctx) {
    const auto name = params.value("name", std::string());
    auto args = params.value("arguments", json::object());
    if (!args.is_object()) args = json::object();
    const auto catalog = hub_.upstreams().snapshot();
    if (name == "search_tools") {
      const auto limit = std::clamp<std::int64_t>(args.value("limit", 10), 1, 50);
      json found = json::array();
      for (const auto* t : search_tools(visible_tools(*catalog), args.value("query", std::string()),
                                        static_cast<std::size_t>(limit))) {
        json item{{"name", t->name}};
        auto description = t->definition.value("description", std::string());
        if (description.size() > 300) description = description.substr(0, 300) + "...";
        item["description"] = std::move(description);
        if (t->definition.contains("title")) item["title"] = t->definition["title"];
        found.push_back(std::move(item));
      }
      co_return tool_text({{"tools", std::move(found)}});
    }
    const auto target = args.value("name", std::string());
    const auto* tool = visible(catalog->find_tool(target));
    if (name == "describe_tool") {
      if (tool == nullptr) co_return tool_text({{"error", "Unknown tool: " + target}}, true);
      co_return tool_text(tool->definition);
    }
    // call_tool
    if (tool == nullptr) co_return tool_text({{"error", "Unknown tool: " + target}}, true);
    json inner{{"name", target}, {"arguments", args.value("arguments", json::object())}};
    if (params.contains("_meta")) inner["_meta"] = params["_meta"];
    co_return co_await call_real_tool(std::move(inner), std::move(ctx));
  }

  asio::awaitable<answer> call_real_tool(json params, request_ctx ctx) {
    const auto name = params.find("name");
    if (const auto args = params.find("arguments");
        args != params.end() && !args->is_object() && !args->is_null()) {
      co_return answer::fail(invalid_params("`arguments` must be an object"));
    }
    // The snapshot is held for the whole call: a catalog swap never changes a call in flight.
    const auto catalog = hub_.upstreams().snapshot();
    const auto* tool = visible(catalog->find_tool(name->get_ref<const std::string&>()));
    if (tool == nullptr) co_return answer::fail(invalid_params("Unknown tool: " + name->get<std::string>()));
    params["name"] = tool->original;
    if (!tool->argument_schema.is_null() || !tool->fixed_arguments.is_null()) {
      if (!params.contains("arguments") || !params["arguments"].is_object()) params["arguments"] = json::object();
      if (auto violation = check_arguments(*tool, params["arguments"])) {
        spdlog::info("tools/call {} refused: {}", tool->name, *violation);
        co_return answer::ok({{"content", json::array({{{"type", "text"}, {"text", *violation}}})},
                              {"isError", true}});
      }
      for (const auto& [arg, value] : tool->fixed_arguments.items()) params["arguments"][arg] = value;
    }
    const bool task = params.contains("task");
    auto reply = co_await forward(tool->server, "tools/call", std::move(params), ctx.control, ctx.id);
    if (!reply.ok()) {
      if (!reply.cancelled) {
        spdlog::warn("tools/call {} -> [{}] failed: {} ({})", tool->name, tool->server,
                     reply.error->message, reply.error->code);
      }
      co_return answer::from(std::move(reply));
    }
    ns::expose_uris(*catalog, tool->server, "tools/call", reply.result);
    if (task) adopt_tasks(tool->server, reply.result);
    co_return answer::ok(std::move(reply.result));
  }

  // The first argument constraint (from a tool override) that `arguments` breaks, said so
  // that a person or a model can correct the call; nullopt when the call is allowed.
  static std::optional<std::string> check_arguments(const ns::exposed_entry& tool, const json& arguments) {
    if (tool.argument_schema.is_null()) return std::nullopt;
    valijson::Schema schema;
    valijson::SchemaParser parser;
    valijson::adapters::NlohmannJsonAdapter schema_doc(tool.argument_schema);
    parser.populateSchema(schema_doc, schema);
    valijson::Validator validator;
    valijson::ValidationResults results;
    valijson::adapters::NlohmannJsonAdapter target(arguments);
    if (validator.validate(schema, target, &results)) return std::nullopt;
    valijson::ValidationResults::Error error;
    std::string where;
    std::string what;
    while (results.popError(error)) {
      // The deepest error names the argument (context: <root>, [arg]).
      if (error.context.size() >= 2 && (where.empty() || error.context.size() > 2)) {
        where = error.context[1];
        what = error.description;
      }
    }
    if (where.size() > 2 && where.front() == '[' && where.back() == ']') where = where.substr(1, where.size() - 2);
    if (where.size() > 2 && where.front() == '"' && where.back() == '"') where = where.substr(1, where.size() - 2);
    const auto constraint = tool.argument_schema["properties"].value(where, json::object());
    return "Invalid arguments for " + tool.name + ": argument `" + where + "` breaks the rule " +
           constraint.dump() + " (" + what + "); got " +
           (arguments.contains(where) ? arguments[where].dump() : std::string("nothing"));
  }

  void adopt_tasks(const std::string& server, json& result) {
    ns::expose_task_ids(server, result);
    if (const auto t = result.find("task"); t != result.end() && t->is_object()) {
      hub_.record_task_owner(t->value("taskId", std::string()), id_);
    }
  }

  asio::awaitable<answer> get_prompt(json params, request_ctx ctx) {
    const auto name = params.find("name");
    if (name == params.end() || !name->is_string()) {
      co_return answer::fail(invalid_params("prompts/get needs a string `name`"));
    }
    const auto catalog = hub_.upstreams().snapshot();
    const auto* prompt = visible(catalog->find_prompt(name->get_ref<const std::string&>()));
    if (prompt == nullptr) co_return answer::fail(invalid_params("Unknown prompt: " + name->get<std::string>()));
    params["name"] = prompt->original;
    auto reply = co_await forward(prompt->server, "prompts/get", std::move(params), ctx.control, ctx.id);
    if (reply.ok()) ns::expose_uris(*catalog, prompt->server, "prompts/get", reply.result);
    co_return answer::from(std::move(reply));
  }

  // The upstream and URI an exposed URI stands for, if that upstream serves resources.
  const ns::exposed_entry* visible(const ns::exposed_entry* e) const {
    return e != nullptr && group_.admits(e->name) ? e : nullptr;
  }

  std::optional<ns::uri_target> target_of(const ns::catalog& catalog, const json& params) const {
    const auto uri = params.find("uri");
    if (uri == params.end() || !uri->is_string()) return std::nullopt;
    if (!group_.admits(uri->get_ref<const std::string&>())) return std::nullopt;
    auto target = catalog.resolve_uri(uri->get_ref<const std::string&>());
    if (!target) return std::nullopt;
    const auto servers = hub_.upstreams().upstreams_with("/resources");
    if (std::find(servers.begin(), servers.end(), target->server) == servers.end()) {
      return std::nullopt;
    }
    return target;
  }

  static answer resource_not_found(const json& params) {
    return answer::fail({error_code::resource_not_found, "Resource not found",
                         json{{"uri", params.value("uri", json())}}});
  }

  asio::awaitable<answer> read_resource(json params, request_ctx ctx) {
    if (!params.contains("uri") || !params["uri"].is_string()) {
      co_return answer::fail(invalid_params("resources/read needs a string `uri`"));
    }
    const auto catalog = hub_.upstreams().snapshot();
    const auto target = target_of(*catalog, params);
    if (!target) co_return resource_not_found(params);
    params["uri"] = target->uri;
    auto reply = co_await forward(target->server, "resources/read", std::move(params), ctx.control, ctx.id);
    if (reply.ok()) ns::expose_uris(*catalog, target->server, "resources/read", reply.result);
    co_return answer::from(std::move(reply));
  }

  asio::awaitable<answer> subscription(std::string_view method, const json& params) {
    if (!params.contains("uri") || !params["uri"].is_string()) {
      co_return answer::fail(invalid_params(std::string(method) + " needs a string `uri`"));
    }
    const auto target = target_of(*hub_.upstreams().snapshot(), params);
    if (!target) co_return resource_not_found(params);
    if (method == "resources/subscribe") {
      co_return answer::from(co_await hub_.subscribe(id_, *target, client_capabilities_));
    }
    co_return answer::from(co_await hub_.unsubscribe(id_, *target, client_capabilities_));
  }

  asio::awaitable<answer> complete(json params, request_ctx ctx) {
    const auto catalog = hub_.upstreams().snapshot();
    auto ref = params.find("ref");
    if (ref == params.end() || !ref->is_object()) {
      co_return answer::fail(invalid_params("completion/complete needs a `ref` object"));
    }
    const auto type = ref->value("type", std::string());
    std::string server;
    if (type == "ref/prompt") {
      const auto* prompt = visible(catalog->find_prompt(ref->value("name", std::string())));
      if (prompt == nullptr) co_return answer::fail(invalid_params("Unknown prompt: " + ref->value("name", std::string())));
      (*ref)["name"] = prompt->original;
      server = prompt->server;
    } else if (type == "ref/resource") {
      const auto target = target_of(*catalog, *ref);
      if (!target) co_return answer::fail(invalid_params("Unknown resource template: " + ref->value("uri", std::string())));
      (*ref)["uri"] = target->uri;
      server = target->server;
    } else {
      co_return answer::fail(invalid_params("unknown completion ref type `" + type + "`"));
    }
    co_return answer::from(
        co_await forward(server, "completion/complete", std::move(params), ctx.control, ctx.id));
  }

  asio::awaitable<answer> set_level(const json& params) {
    const auto level = params.value("level", std::string());
    const auto severity = log_severity(level);
    if (severity < 0) co_return answer::fail(invalid_params("unknown log level `" + level + "`"));
    log_threshold_ = severity;
    co_await hub_.apply_log_levels();
    co_return answer::ok(json::object());
  }

  asio::awaitable<answer> task_request(std::string method, json params,
                                       request_ctx ctx) {
    const auto exposed = params.value("taskId", std::string());
    const auto target = ns::resolve_task_id(exposed);
    if (!target || hub_.upstreams().peer(target->server) == nullptr) {
      co_return answer::fail(invalid_params("Unknown task: " + exposed));
    }
    params["taskId"] = target->task_id;
    auto reply = co_await forward(target->server, method, std::move(params), ctx.control, ctx.id);
    if (reply.ok()) {
      ns::expose_task_ids(target->server, reply.result);
      if (method == "tasks/result") {
        ns::expose_uris(*hub_.upstreams().snapshot(), target->server, method, reply.result);
      }
    }
    co_return answer::from(std::move(reply));
  }

  asio::awaitable<answer> list_tasks(const json& params, const request_ctx& ctx) {
    if (params.contains("cursor")) {
      co_return answer::fail(invalid_params("Invalid cursor: manifold lists all tasks in one page"));
    }
    auto servers = hub_.upstreams().upstreams_with("/tasks/list");
    std::vector<json> per_server(servers.size(), json::array());
    std::vector<std::size_t> index(servers.size());
    for (std::size_t i = 0; i < index.size(); ++i) index[i] = i;
    co_await io::parallel_for_each(index, [&](std::size_t i) -> asio::awaitable<void> {
      json cursor;
      for (int page = 0; page < 1000; ++page) {
        json p = json::object();
        if (!cursor.is_null()) p["cursor"] = cursor;
        auto reply = co_await forward(servers[i], "tasks/list", std::move(p), nullptr, ctx.id);
        if (!reply.ok()) break;
        ns::expose_task_ids(servers[i], reply.result);
        for (auto& t : reply.result.value("tasks", json::array())) per_server[i].push_back(std::move(t));
        cursor = reply.result.value("nextCursor", json());
        if (!cursor.is_string()) break;
      }
    });
    json tasks = json::array();
    for (auto& list : per_server) {
      for (auto& t : list) tasks.push_back(std::move(t));
    }
    co_return answer::ok({{"tasks", std::move(tasks)}});
  }

  void send(const json& message, const json& related = nullptr) {
    if (stopped_) return;
    auto text = protocol::serialize(message);
    spdlog::trace("host {} <- {:.500}", id_, text);
    if (related.is_null()) {
      link_->send(std::move(text));
    } else {
      link_->send_related(std::move(text), related);
    }
  }

  asio::any_io_executor executor_;
  std::shared_ptr<protocol::channel> link_;
  relay_impl& hub_;
  std::uint64_t id_;
  group_view group_;
  lifecycle state_ = lifecycle::awaiting_initialize;
  bool initializing_ = false;
  std::string negotiated_;
  json client_capabilities_ = json::object();
  json client_info_ = json::object();
  int log_threshold_ = -1;
  // Host requests in flight by their id (as JSON text), each with its cancel handle.
  std::unordered_map<std::string, std::shared_ptr<protocol::call_control>> in_flight_;
  io::request_tracker outbound_;  // requests manifold sent to the host
  bool closing_ = false;
  bool stopped_ = false;
  io::event drained_;
  io::event initialized_;
};

}  // namespace

std::shared_ptr<host_session> relay_impl::open_session(std::shared_ptr<protocol::channel> link,
                                                      group_view group) {
  return std::make_shared<session>(executor_, std::move(link), *this, next_session_++, std::move(group));
}

}  // namespace manifold::proxy
