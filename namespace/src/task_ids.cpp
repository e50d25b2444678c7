#include "manifold/namespace/task_ids.hpp"

namespace manifold::ns {

namespace {

void expose_field(std::string_view server, json& object) {
  if (!object.is_object()) return;
  const auto id = object.find("taskId");
  if (id != object.end() && id->is_string()) {
    *id = expose_task_id(server, id->get_ref<const std::string&>());
  }
}

}  // namespace

std::string expose_task_id(std::string_view server, std::string_view task_id) {
  std::string out(server);
  out += ':';
  out += task_id;
  return out;
}

std::optional<task_target> resolve_task_id(std::string_view exposed) {
  const auto colon = exposed.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  return task_target{std::string(exposed.substr(0, colon)), std::string(exposed.substr(colon + 1))};
}

void expose_task_ids(std::string_view server, json& message_part) {
  if (!message_part.is_object()) return;
  expose_field(server, message_part);
  if (const auto task = message_part.find("task"); task != message_part.end()) {
    expose_field(server, *task);
  }
  if (const auto tasks = message_part.find("tasks");
      tasks != message_part.end() && tasks->is_array()) {
    for (auto& t : *tasks) expose_field(server, t);
  }
  if (const auto meta = message_part.find("_meta"); meta != message_part.end() && meta->is_object()) {
    if (const auto related = meta->find(related_task_key); related != meta->end()) {
      expose_field(server, *related);
    }
  }
}

}  // namespace manifold::ns
