// URI rewriting over any JSON a server could send: every method's result shape, never a
// crash; every URI a host is shown resolves back to the server it came from, and an MCP App
// URI (ui://...) keeps its scheme and comes back exactly.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "manifold/namespace/catalog.hpp"
#include "manifold/namespace/uri_rewrite.hpp"
#include "manifold/protocol/json_access.hpp"

namespace ns = manifold::ns;

namespace {

const ns::catalog& fixture() {
  static const ns::catalog c = [] {
    std::vector<ns::upstream_listing> listings(2);
    listings[0].server = "everything";
    listings[0].namespace_ = "everything";
    listings[0].resources = {{{"uri", "demo://resource/1"}, {"name", "one"}},
                             {{"uri", "ui://app/mcp-app.html"}, {"name", "ui://app/mcp-app.html"}}};
    listings[0].tools = {{{"name", "app"}, {"_meta", {{"ui", {{"resourceUri", "ui://app/mcp-app.html"}}}}}}};
    listings[0].resource_templates = {{{"uriTemplate", "demo://resource/{id}"}, {"name", "t"}}};
    listings[1].server = "files";
    listings[1].namespace_ = "files";
    listings[1].resources = {{{"uri", "file:///tmp/a"}, {"name", "a"}}};
    return ns::build_catalog(listings, {});
  }();
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);  // NOLINT
  auto parsed = manifold::protocol::parse_json(text);
  if (!parsed.ok()) {
    // Raw text as a URI both ways.
    const auto exposed = fixture().expose_uri("everything", text);
    const auto back = fixture().resolve_uri(exposed);
    if (back && back->server != "everything") __builtin_trap();
    const bool app = text.size() > 5 && (text.substr(0, 5) == "ui://" || text.substr(0, 5) == "UI://");
    if (app && (exposed.substr(0, 5) != text.substr(0, 5) || !back || back->uri != text)) __builtin_trap();
    return 0;
  }
  for (const auto* method : {"tools/call", "tasks/result", "resources/read", "prompts/get",
                             "notifications/resources/updated", "tools/list", "resources/list",
                             "resources/templates/list"}) {
    auto copy = parsed.value;
    ns::expose_uris(fixture(), "everything", method, copy);
  }
  return 0;
}
