#pragma once

#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "manifold/namespace/naming.hpp"

// The merged, namespaced catalog: a value built by a pure function from what each upstream
// listed and the naming rules. Immutable once built; shared as shared_ptr<const catalog>.
namespace manifold::ns {

using json = nlohmann::json;

enum class entry_kind { tool, prompt, resource, resource_template };
std::string_view to_string(entry_kind kind);

// Globs over an upstream's own names (tools, prompts) or URIs (resources, templates): an
// entry is exposed when it matches an allow pattern and no deny pattern.
struct entry_filter {
  std::vector<std::string> allow{"*"};
  std::vector<std::string> deny;
};

// What one upstream offers, as it listed it, in the upstream's order, and its policy.
struct upstream_listing {
  std::string server;      // the config key
  std::string namespace_;  // the exposed prefix
  std::vector<json> tools;
  std::vector<json> prompts;
  std::vector<json> resources;
  std::vector<json> resource_templates;
  int priority = 0;  // for on_collision: priority (higher wins)
  entry_filter tool_filter;
  entry_filter prompt_filter;
  entry_filter resource_filter;
};

enum class prefix_mode {
  always,       // every tool and prompt is <namespace><separator><name>; URIs get a scheme prefix
  when_needed,  // only names two upstreams share are prefixed; URIs pass unchanged
  never,        // names and URIs pass unchanged (one upstream, or upstreams known not to clash)
};

enum class collision_rule {
  first_wins,  // the upstream earlier in the config keeps the name
  priority,    // the upstream with the higher `priority` keeps it (ties: config order)
  error,       // a collision makes the catalog unusable (manifold refuses it)
};

struct naming_options {
  std::string separator = "__";
  prefix_mode prefix = prefix_mode::always;
  charset chars = charset::strict;
  std::size_t max_length = 64;
  collision_rule on_collision = collision_rule::first_wins;
};

// One exposed tool, prompt, resource or resource template. For resources `name` is the
// exposed URI, for templates the exposed uriTemplate; `original` is the upstream's own.
struct exposed_entry {
  std::string name;
  std::string server;
  std::string original;
  json definition;  // the upstream's object with the exposed name or URI in place
  std::vector<std::string> decisions;  // how `original` became `name`, for explain/collisions
  std::string requested;  // the name before characters were mapped and it was shortened
  // From a tool override: the argument constraints every call must meet (a JSON Schema
  // object; null when none), and the hidden arguments manifold always sends.
  json argument_schema;
  json fixed_arguments;
  // A hash of `server` and `definition`: equal digests, equal to the host.
  std::uint64_t digest = 0;
};

// `tools.<exposed name>` of the config, as the catalog applies it.
struct tool_override {
  std::string exposed;
  std::string name;
  std::string title;
  std::string description;
  json annotations;
  std::map<std::string, json> arguments;
};

// An upstream entry a policy rule left out.
struct filtered_entry {
  entry_kind kind = entry_kind::tool;
  std::string server;
  std::string original;
  std::string rule;  // e.g. "tools.deny `trigger-*`"
};

// Two upstream entries that produced the same exposed name. The first in config order keeps
// it; the other is left out of the catalog.
struct collision {
  entry_kind kind = entry_kind::tool;
  std::string exposed_name;
  std::string kept_server;
  std::string kept_original;
  std::string dropped_server;
  std::string dropped_original;
  std::string rule;
};

// An upstream entry that could not be exposed at all (for example a tool without a name).
struct rejected_entry {
  std::string server;
  std::string reason;
};

// Where an exposed URI leads.
struct uri_target {
  std::string server;
  std::string uri;  // the upstream's own URI
};

struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using name_index = std::unordered_map<std::string, std::size_t, string_hash, std::equal_to<>>;

class catalog {
 public:
  catalog() = default;

  [[nodiscard]] const std::vector<exposed_entry>& tools() const { return tools_; }
  [[nodiscard]] const std::vector<exposed_entry>& prompts() const { return prompts_; }
  [[nodiscard]] const std::vector<exposed_entry>& resources() const { return resources_; }
  [[nodiscard]] const std::vector<exposed_entry>& resource_templates() const { return templates_; }
  [[nodiscard]] const std::vector<exposed_entry>& entries(entry_kind kind) const;
  [[nodiscard]] const exposed_entry* find_tool(std::string_view exposed_name) const;
  [[nodiscard]] const exposed_entry* find_prompt(std::string_view exposed_name) const;
  [[nodiscard]] const exposed_entry* find_resource(std::string_view exposed_uri) const;
  [[nodiscard]] const std::vector<collision>& collisions() const { return collisions_; }
  [[nodiscard]] const std::vector<rejected_entry>& rejected() const { return rejected_; }
  [[nodiscard]] const std::vector<filtered_entry>& filtered() const { return filtered_; }
  // Overrides that named no exposed tool (a typo, or a tool that went away).
  [[nodiscard]] const std::vector<std::string>& unmatched_overrides() const { return unmatched_; }
  // True when on_collision is `error` and names collided: the catalog must not be served.
  [[nodiscard]] bool refused() const {
    return naming_.on_collision == collision_rule::error && !collisions_.empty();
  }
  // Which build this is; list cursors are tied to it.
  [[nodiscard]] std::uint64_t generation() const { return generation_; }

  // The URI the host sees for `uri` of `server`, and the way back. With prefix `always`
  // the scheme gets the server's URI token ("demo://x" -> "everything+demo://x"), which
  // keeps it a valid URI and makes the mapping exact both ways; MCP App URIs keep their
  // `ui://` scheme (hosts accept nothing else) and carry the token as their first segment
  // instead ("ui://get-time/app.html" -> "ui://basic/get-time/app.html"). With `never`
  // URIs pass unchanged and are routed by the listed resources and templates. A URI the
  // server's resources policy hides resolves to nothing, listed or not.
  [[nodiscard]] std::string expose_uri(std::string_view server, std::string_view uri) const;
  [[nodiscard]] std::optional<uri_target> resolve_uri(std::string_view exposed) const;
  // The scheme prefix token of `server` (empty with prefix `never`).
  [[nodiscard]] std::string uri_token(std::string_view server) const;

  friend catalog build_catalog(const std::vector<upstream_listing>& upstreams,
                               const naming_options& naming, std::uint64_t generation,
                               const std::vector<tool_override>& overrides,
                               const std::map<std::string, std::string>& withheld);

 private:
  [[nodiscard]] std::optional<uri_target> resolve_uri_unfiltered(std::string_view exposed) const;

  naming_options naming_;
  std::uint64_t generation_ = 0;
  std::vector<exposed_entry> tools_;
  std::vector<exposed_entry> prompts_;
  std::vector<exposed_entry> resources_;
  std::vector<exposed_entry> templates_;
  name_index tool_index_;
  name_index prompt_index_;
  name_index resource_index_;
  std::vector<collision> collisions_;
  std::vector<rejected_entry> rejected_;
  std::vector<filtered_entry> filtered_;
  std::vector<std::string> unmatched_;
  std::vector<std::pair<std::string, std::string>> uri_tokens_;  // server -> token
  std::vector<std::string> servers_with_resources_;
  std::vector<std::pair<std::string, entry_filter>> resource_filters_;  // server -> its policy
};

// The exposed name for `original` from namespace `ns` under `naming` when it is prefixed
// (before character mapping and shortening).
std::string exposed_name(std::string_view ns, std::string_view original,
                         const naming_options& naming);

// Whether `filter` exposes `name`; when not, `rule` says which rule left it out.
bool passes(const entry_filter& filter, std::string_view name, std::string_view what,
            std::string* rule);

// A URI scheme token derived from a namespace: lowercase, '_' becomes '-', a leading
// non-letter gets an 'x' in front (schemes start with a letter and allow [a-z0-9+.-]).
std::string uri_token_for(std::string_view ns);

// Deterministic: the same listings in the same order give the same catalog. Entries keep
// the order of `upstreams`, then each upstream's own order.
// `withheld`: exposed tool names to leave out, each with the reason (pinning), reported
// among the filtered entries.
catalog build_catalog(const std::vector<upstream_listing>& upstreams, const naming_options& naming,
                      std::uint64_t generation = 0, const std::vector<tool_override>& overrides = {},
                      const std::map<std::string, std::string>& withheld = {});

// FNV-1a (64 bits) over a sequence of entries: equal when nothing a host would see
// differs (servers, definitions, order).
class fingerprint_builder {
 public:
  void mix(std::string_view bytes) {
    for (const char ch : bytes) hash_ = (hash_ ^ static_cast<unsigned char>(ch)) * prime;
    hash_ = (hash_ ^ 0xFFU) * prime;
  }
  void add(const exposed_entry& e) {
    for (unsigned shift = 0; shift < 64; shift += 8) {
      hash_ = (hash_ ^ ((e.digest >> shift) & 0xFFU)) * prime;
    }
  }
  [[nodiscard]] std::uint64_t value() const { return hash_; }

 private:
  static constexpr std::uint64_t prime = 1099511628211ULL;
  std::uint64_t hash_ = 14695981039346656037ULL;
};

// A hash of every exposed definition of one kind: equal when a rebuild changed nothing
// a host would see in that list.
std::uint64_t fingerprint(const catalog& c, entry_kind kind);
// The digest of one entry (exposed_entry::digest).
std::uint64_t digest_of(std::string_view server, const json& definition);

}  // namespace manifold::ns
