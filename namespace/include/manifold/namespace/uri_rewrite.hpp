#pragma once

#include <string_view>

#include "manifold/namespace/catalog.hpp"

// Every place an MCP message names a resource by URI, and which way manifold rewrites it.
//
// Upstream -> host (exposed with catalog::expose_uri, by the functions below):
//   tools/list                 tool `_meta.ui.resourceUri`, tool `_meta["ui/resourceUri"]`
//                              (MCP Apps; only the keys present)
//   tools/call, tasks/result   result `_meta` with the same two keys; resource_link and
//                              embedded resource content blocks
//   prompts/get                content blocks of the messages
//   resources/list             `uri`, and `name` when it equals the uri
//   resources/templates/list   `uriTemplate`, and `name` when it equals it
//   resources/read             `contents[].uri`
//   notifications/resources/updated  `uri`
// Host -> upstream (resolved to an upstream and its own URI by view::resolve_uri):
//   resources/read, resources/subscribe, resources/unsubscribe `uri`; completion/complete
//   `ref.uri`.
// Never rewritten: `_meta.ui.csp`, `_meta.ui.domain` and elicitation `url`s are web origins
// and URLs, not resource URIs; structuredContent and text are the server's own data.
namespace manifold::ns {

// Rewrites in place every URI that a message from `server` hands the host. `method` names
// the message; `message_part` is its result (for a request) or its params (for a
// notification). For the list methods it is the list result (`tools`, `resources`,
// `resourceTemplates` arrays). Anything else passes unchanged.
void expose_uris(const catalog& c, std::string_view server, std::string_view method,
                 json& message_part);

// The same for one listed tool, resource or resource template as the upstream defined it
// (the catalog does this to each definition it exposes). Prompts carry no URIs.
void expose_definition(const catalog& c, std::string_view server, entry_kind kind, json& definition);

// The same for one content block (text, image, audio, resource_link, resource).
void expose_content_block(const catalog& c, std::string_view server, json& block);

}  // namespace manifold::ns
