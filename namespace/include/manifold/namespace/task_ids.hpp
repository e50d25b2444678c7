#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "manifold/namespace/catalog.hpp"

namespace manifold::ns {

// Task ids are unique per receiver, so ids from different upstreams can clash. The host
// sees "<server>:<upstream task id>"; server names never contain ':'.
std::string expose_task_id(std::string_view server, std::string_view task_id);
struct task_target {
  std::string server;
  std::string task_id;
};
std::optional<task_target> resolve_task_id(std::string_view exposed);

// Rewrites in place the task ids in a message part from `server`: a Task object's
// `taskId`, `task.taskId` (CreateTaskResult), `tasks[].taskId` (tasks/list), and
// `_meta["io.modelcontextprotocol/related-task"].taskId`.
void expose_task_ids(std::string_view server, json& message_part);

inline constexpr std::string_view related_task_key = "io.modelcontextprotocol/related-task";

}  // namespace manifold::ns
