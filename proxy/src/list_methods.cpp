#include "manifold/protocol/json_access.hpp"
#include "manifold/proxy/meta_tools.hpp"
#include "manifold/proxy/pagination.hpp"
#include "methods.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;

namespace {

// One page of the session's view of `kind`, under `key` ("tools", "prompts" ...).
answer list_page(request_context& ctx, const json& params, ns::entry_kind kind, std::string_view key) {
  const auto& entries = ctx.view->entries(kind);
  // Cursors are tied to the list, the view (group, roles) and the catalog generation.
  const auto list_id = ctx.method + "@" + ctx.session.view_key();
  std::size_t offset = 0;
  if (const auto* cursor = protocol::member(params, "cursor"); cursor != nullptr && !cursor->is_null()) {
    const auto decoded = cursor->is_string()
                             ? decode_cursor(cursor->get_ref<const std::string&>(), list_id,
                                             ctx.view->generation())
                             : std::nullopt;
    if (!decoded || *decoded > entries.size()) {
      return answer::invalid_params("Invalid cursor (the list may have changed; list again)");
    }
    offset = *decoded;
  }
  const auto page_size = ctx.hub.options().page_size;
  const auto page = page_size == 0 ? entries.size() : page_size;
  const auto end = std::min(entries.size(), offset + page);
  json items = json::array();
  for (auto i = offset; i < end; ++i) items.push_back(entries[i]->definition);
  json result{{std::string(key), std::move(items)}};
  if (end < entries.size()) result["nextCursor"] = encode_cursor(list_id, ctx.view->generation(), end);
  return answer::ok(std::move(result));
}

}  // namespace

asio::awaitable<answer> list_tools(request_context& ctx, json params) {
  if (ctx.view->meta_mode()) {
    if (const auto* cursor = protocol::member(params, "cursor"); cursor != nullptr && !cursor->is_null()) {
      co_return answer::invalid_params("Invalid cursor");
    }
    co_return answer::ok({{"tools", meta_tool_definitions()}});
  }
  co_return list_page(ctx, params, ns::entry_kind::tool, "tools");
}

asio::awaitable<answer> list_prompts(request_context& ctx, json params) {
  co_return list_page(ctx, params, ns::entry_kind::prompt, "prompts");
}

asio::awaitable<answer> list_resources(request_context& ctx, json params) {
  co_return list_page(ctx, params, ns::entry_kind::resource, "resources");
}

asio::awaitable<answer> list_resource_templates(request_context& ctx, json params) {
  co_return list_page(ctx, params, ns::entry_kind::resource_template, "resourceTemplates");
}

}  // namespace manifold::proxy
