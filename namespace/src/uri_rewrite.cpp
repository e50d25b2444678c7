#include "manifold/namespace/uri_rewrite.hpp"

namespace manifold::ns {

namespace {

// `object[key]`, exposed, when it is a string.
void expose_string(const catalog& c, std::string_view server, json& object, std::string_view key) {
  if (!object.is_object()) return;
  const auto field = object.find(key);
  if (field == object.end() || !field->is_string()) return;
  *field = c.expose_uri(server, field->get_ref<const std::string&>());
}

void expose_uri_field(const catalog& c, std::string_view server, json& object) {
  expose_string(c, server, object, "uri");
}

void expose_blocks(const catalog& c, std::string_view server, json& blocks) {
  if (!blocks.is_array()) return;
  for (auto& block : blocks) expose_content_block(c, server, block);
}

// MCP Apps: the UI resource a tool (or a tool result) names, under `_meta.ui.resourceUri`
// and the older flat `_meta["ui/resourceUri"]`. The rest of `_meta.ui` (csp, domain,
// permissions, visibility) is not a resource URI and stays as it is.
void expose_ui_meta(const catalog& c, std::string_view server, json& owner) {
  if (!owner.is_object()) return;
  const auto meta = owner.find("_meta");
  if (meta == owner.end() || !meta->is_object()) return;
  expose_string(c, server, *meta, "ui/resourceUri");
  if (const auto ui = meta->find("ui"); ui != meta->end()) expose_string(c, server, *ui, "resourceUri");
}

// `name` follows the URI when the upstream used the URI as the name.
void expose_named_uri(const catalog& c, std::string_view server, json& definition, std::string_view key) {
  if (!definition.is_object()) return;
  const auto uri = definition.find(key);
  if (uri == definition.end() || !uri->is_string()) return;
  const auto name = definition.find("name");
  const bool same = name != definition.end() && *name == *uri;
  *uri = c.expose_uri(server, uri->get_ref<const std::string&>());
  if (same) *name = *uri;
}

void expose_list(const catalog& c, std::string_view server, entry_kind kind, json& result,
                 std::string_view key) {
  if (!result.is_object()) return;
  const auto items = result.find(key);
  if (items == result.end() || !items->is_array()) return;
  for (auto& item : *items) expose_definition(c, server, kind, item);
}

}  // namespace

void expose_definition(const catalog& c, std::string_view server, entry_kind kind, json& definition) {
  switch (kind) {
    case entry_kind::tool:
      expose_ui_meta(c, server, definition);
      return;
    case entry_kind::resource:
      expose_named_uri(c, server, definition, "uri");
      return;
    case entry_kind::resource_template:
      expose_named_uri(c, server, definition, "uriTemplate");
      return;
    case entry_kind::prompt:
      return;
  }
}

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
    expose_ui_meta(c, server, message_part);
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
  } else if (method == "tools/list") {
    expose_list(c, server, entry_kind::tool, message_part, "tools");
  } else if (method == "resources/list") {
    expose_list(c, server, entry_kind::resource, message_part, "resources");
  } else if (method == "resources/templates/list") {
    expose_list(c, server, entry_kind::resource_template, message_part, "resourceTemplates");
  }
}

}  // namespace manifold::ns
