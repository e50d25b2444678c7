#include "manifold/io/parallel.hpp"
#include "manifold/namespace/task_ids.hpp"
#include "manifold/namespace/uri_rewrite.hpp"
#include "manifold/protocol/json_access.hpp"
#include "methods.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;

namespace {

constexpr std::size_t max_task_pages = 1000;

}  // namespace

asio::awaitable<answer> set_log_level(request_context& ctx, json params) {
  const auto level = protocol::string_member(params, "level");
  if (!level) co_return answer::invalid_params("logging/setLevel needs a string `level`");
  const auto severity = log_severity(*level);
  if (severity < 0) co_return answer::invalid_params("unknown log level `" + std::string(*level) + "`");
  ctx.session.set_log_threshold(severity);
  co_await ctx.hub.apply_log_levels();
  co_return answer::ok(json::object());
}

// tasks/get, tasks/result and tasks/cancel of a task an upstream runs.
asio::awaitable<answer> task_request(request_context& ctx, json params) {
  const auto exposed = protocol::string_member(params, "taskId");
  if (!exposed) co_return answer::invalid_params(ctx.method + " needs a string `taskId`");
  const auto target = ns::resolve_task_id(*exposed);
  if (!target || ctx.hub.upstreams().peer(target->server) == nullptr) {
    co_return answer::invalid_params("Unknown task: " + std::string(*exposed));
  }
  params["taskId"] = target->task_id;
  auto reply = co_await forward(ctx, target->server, ctx.method, std::move(params));
  if (reply.ok()) {
    ns::expose_task_ids(target->server, reply.result);
    if (ctx.method == "tasks/result") {
      ns::expose_uris(ctx.view->source(), target->server, ctx.method, reply.result);
    }
  }
  co_return answer::from(std::move(reply));
}

// Every upstream's tasks in one page.
asio::awaitable<answer> list_tasks(request_context& ctx, json params) {
  if (protocol::member(params, "cursor") != nullptr) {
    co_return answer::invalid_params("Invalid cursor: manifold lists all tasks in one page");
  }
  auto servers = ctx.hub.upstreams().upstreams_with("/tasks/list");
  std::vector<json> per_server(servers.size(), json::array());
  std::vector<std::size_t> index(servers.size());
  for (std::size_t i = 0; i < index.size(); ++i) index[i] = i;
  co_await io::parallel_for_each(index, [&](std::size_t i) -> asio::awaitable<void> {
    // Its own context: the calls run side by side and none holds the host's cancel handle.
    request_context sub{ctx.session, ctx.hub, ctx.method, ctx.id, nullptr, ctx.view};
    json cursor;
    for (std::size_t page = 0; page < max_task_pages; ++page) {
      json p = json::object();
      if (!cursor.is_null()) p["cursor"] = cursor;
      auto reply = co_await forward(sub, servers[i], "tasks/list", std::move(p));
      if (!reply.ok()) break;
      ns::expose_task_ids(servers[i], reply.result);
      if (auto* tasks = protocol::member(reply.result, "tasks"); tasks != nullptr && tasks->is_array()) {
        for (auto& t : *tasks) per_server[i].push_back(std::move(t));
      }
      const auto* next = protocol::member(reply.result, "nextCursor");
      if (next == nullptr || !next->is_string() || *next == cursor) break;
      cursor = *next;
    }
  });
  json tasks = json::array();
  for (auto& list : per_server) {
    for (auto& t : list) tasks.push_back(std::move(t));
  }
  co_return answer::ok({{"tasks", std::move(tasks)}});
}

}  // namespace manifold::proxy
