#include <array>
#include <utility>

#include "methods.hpp"

namespace manifold::proxy {

namespace {

constexpr std::array<std::pair<std::string_view, method_handler>, 15> methods{{
    {"tools/list", list_tools},
    {"tools/call", call_tool},
    {"prompts/list", list_prompts},
    {"prompts/get", get_prompt},
    {"resources/list", list_resources},
    {"resources/templates/list", list_resource_templates},
    {"resources/read", read_resource},
    {"resources/subscribe", subscribe},
    {"resources/unsubscribe", unsubscribe},
    {"completion/complete", complete},
    {"logging/setLevel", set_log_level},
    {"tasks/get", task_request},
    {"tasks/result", task_request},
    {"tasks/cancel", task_request},
    {"tasks/list", list_tasks},
}};

}  // namespace

method_handler find_method(std::string_view method) {
  for (const auto& [name, handler] : methods) {
    if (name == method) return handler;
  }
  return nullptr;
}

}  // namespace manifold::proxy
