#pragma once

#include <nlohmann/json.hpp>
#include <string_view>

// MCP extensions (`capabilities.extensions`, keyed by extension id) as manifold relays them
// between hosts and upstreams.
namespace manifold::protocol {

// MCP Apps (ext-apps): tools name a `ui://` resource that the host renders.
inline constexpr std::string_view ui_extension = "io.modelcontextprotocol/ui";
inline constexpr std::string_view ui_mime_type = "text/html;profile=mcp-app";

// Whether manifold can carry extension `id` through: its messages need no translation
// beyond what manifold does to every message. Tasks need their ids namespaced per upstream
// in the extension's own shapes, which manifold does not do, so that one is withheld.
bool relayable_extension(std::string_view id);

// `capabilities` (a host's client capabilities) as manifold declares them to an upstream:
// the same, less the extensions it cannot relay.
nlohmann::json relayed_capabilities(nlohmann::json capabilities);

// Adds the relayable extensions of `upstream` (an upstream's server capabilities) to
// `merged` (manifold's own); an extension two upstreams declare keeps the settings of the
// first one added.
void merge_extensions(nlohmann::json& merged, const nlohmann::json& upstream);

}  // namespace manifold::protocol
