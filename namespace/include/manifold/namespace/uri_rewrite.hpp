#pragma once

#include <string_view>

#include "manifold/namespace/catalog.hpp"

namespace manifold::ns {

// Rewrites in place every URI that a message from `server` hands the host, so that the host
// only ever sees exposed URIs: resource_link and embedded resource blocks in tool results
// (tools/call, tasks/result) and prompt messages (prompts/get), read contents
// (resources/read), and the uri of notifications/resources/updated. `message_part` is the
// result (for a method) or the params (for a notification).
void expose_uris(const catalog& c, std::string_view server, std::string_view method,
                 json& message_part);

// The same for one content block (text, image, audio, resource_link, resource).
void expose_content_block(const catalog& c, std::string_view server, json& block);

}  // namespace manifold::ns
