#include "manifold/namespace/uri_rewrite.hpp"

namespace manifold::ns {

namespace {

void expose_uri_field(const catalog& c, std::string_view server, json& object) {
  if (!object.is_object()) return;
  const auto uri = object.find("uri");
  if (uri == object.end() || !uri->is_string()) return;
  *uri = c.expose_uri(server, uri->get_ref<const std::string&>());
}

void expose_blocks(const catalog& c, std::string_view server, json& blocks) {
  if (!blocks.is_array()) return;
  for (auto& block : blocks) expose_content_block(c, server, block);
}

}  // namespace

void expose_content_block(const catalog& c, std::string_view server, json& block) {
  if (!block.is_object()) return;
  const auto type = block.find("type");
  if (type == block.end() || !type->is_string()) return;
  if (*type == "resource_link") {
    expose_uri_field(c, server, block);
  } else if (*type == "resource") {
    if (const auto resource = block.find("resource"); resource != block.end()) {
      expose_uri_field(c, server, *resource);
    }
  }
}

void expose_uris(const catalog& c, std::string_view server, std::string_view method,
                 json& message_part) {
  if (!message_part.is_object()) return;
  if (method == "tools/call" || method == "tasks/result") {
    if (const auto content = message_part.find("content"); content != message_part.end()) {
      expose_blocks(c, server, *content);
    }
  } else if (method == "resources/read") {
    if (const auto contents = message_part.find("contents");
        contents != message_part.end() && contents->is_array()) {
      for (auto& item : *contents) expose_uri_field(c, server, item);
    }
  } else if (method == "prompts/get") {
    if (const auto messages = message_part.find("messages");
        messages != message_part.end() && messages->is_array()) {
      for (auto& m : *messages) {
        if (!m.is_object()) continue;
        if (const auto content = m.find("content"); content != m.end()) {
          if (content->is_array()) {
            expose_blocks(c, server, *content);
          } else {
            expose_content_block(c, server, *content);
          }
        }
      }
    }
  } else if (method == "notifications/resources/updated") {
    expose_uri_field(c, server, message_part);
  }
}

}  // namespace manifold::ns
