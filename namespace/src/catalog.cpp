#include "manifold/namespace/catalog.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <set>

#include "manifold/namespace/uri_rewrite.hpp"
#include "manifold/protocol/text.hpp"

namespace manifold::ns {

std::string_view to_string(entry_kind kind) {
  switch (kind) {
    case entry_kind::tool:
      return "tool";
    case entry_kind::prompt:
      return "prompt";
    case entry_kind::resource:
      return "resource";
    case entry_kind::resource_template:
      return "resource template";
  }
  return "entry";
}

namespace {

const exposed_entry* find_in(const name_index& index, const std::vector<exposed_entry>& entries,
                             std::string_view name) {
  const auto it = index.find(name);
  return it == index.end() ? nullptr : &entries[it->second];
}

// The scheme of an absolute URI (RFC 3986: ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) ":").
std::optional<std::string_view> scheme_of(std::string_view uri) {
  const auto colon = uri.find(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  const auto scheme = uri.substr(0, colon);
  if (std::isalpha(static_cast<unsigned char>(scheme.front())) == 0) return std::nullopt;
  for (const char c : scheme) {
    if (std::isalnum(static_cast<unsigned char>(c)) == 0 && c != '+' && c != '-' && c != '.') {
      return std::nullopt;
    }
  }
  return scheme;
}

// The literal part of a URI template before its first expression.
std::string_view template_literal(std::string_view uri_template) {
  return uri_template.substr(0, uri_template.find('{'));
}

constexpr std::string_view no_scheme = "none";

// MCP App resources: hosts render only URIs that start with exactly this.
constexpr std::string_view ui_scheme = "ui://";

// Whether `uri` is `ui://` and something more (the scheme compared without case).
bool is_ui_uri(std::string_view uri) {
  return uri.size() > ui_scheme.size() && protocol::lower_ascii(uri.substr(0, ui_scheme.size())) == ui_scheme;
}

// What every kind builder adds to besides its own entries.
struct catalog_parts {
  std::vector<collision>& collisions;
  std::vector<rejected_entry>& rejected;
  std::vector<filtered_entry>& filtered;
  const std::vector<upstream_listing>& upstreams;
  const catalog& exposing;  // the catalog being built: its URI tokens are already set

  [[nodiscard]] int priority_of(std::string_view server) const {
    for (const auto& u : upstreams) {
      if (u.server == server) return u.priority;
    }
    return 0;
  }
};

// Names listed by more than one upstream (for prefix: when-needed).
std::set<std::string> shared_names(const std::vector<upstream_listing>& upstreams,
                                   std::vector<json> upstream_listing::*items,
                                   entry_filter upstream_listing::*filter) {
  std::map<std::string, std::set<std::string>> owners;
  for (const auto& u : upstreams) {
    for (const auto& item : u.*items) {
      if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) continue;
      const auto& name = item["name"].get_ref<const std::string&>();
      if (passes(u.*filter, name, "", nullptr)) owners[name].insert(u.server);
    }
  }
  std::set<std::string> out;
  for (const auto& [name, servers] : owners) {
    if (servers.size() > 1) out.insert(name);
  }
  return out;
}

// A name an entry will be exposed under, with the story of how it got there.
struct naming_result {
  std::string name;
  std::vector<std::string> decisions;
  std::string requested;  // before mapping and shortening
};

// Adds the entries of one kind from one upstream: filters, names, collisions, rejects.
class kind_builder {
 public:
  kind_builder(entry_kind kind, std::string_view key, const naming_options& naming,
               std::vector<exposed_entry>& out, name_index& index, catalog_parts& parts)
      : kind_(kind), key_(key), naming_(naming), out_(out), index_(index), parts_(parts) {}

  template <typename Expose>
  void add(const upstream_listing& upstream, const std::vector<json>& items,
           const entry_filter& filter, std::string_view filter_name, Expose expose) {
    for (const auto& item : items) {
      const auto field = item.is_object() ? item.find(key_) : item.end();
      if (!item.is_object() || field == item.end() || !field->is_string() ||
          field->get_ref<const std::string&>().empty()) {
        parts_.rejected.push_back({upstream.server, std::string(to_string(kind_)) + " without a string `" +
                                                        std::string(key_) + "`: " + item.dump().substr(0, 200)});
        continue;
      }
      const auto& original = field->get_ref<const std::string&>();
      std::string rule;
      if (!passes(filter, original, filter_name, &rule)) {
        parts_.filtered.push_back({kind_, upstream.server, original, rule});
        continue;
      }
      auto named = expose(original);
      // One hash lookup in the common case: the name is claimed here if it is free.
      auto [existing, inserted] = index_.try_emplace(named.name, out_.size());
      if (!inserted && out_[existing->second].requested != named.requested && !named.requested.empty()) {
        // Two different names became one through mapping or shortening: keep both, the
        // newcomer with a hash of its identity, so no tool is lost to a naming artifact.
        auto distinct = with_hash(named.name, naming_.max_length, upstream.server + '\0' + original);
        named.decisions.push_back("made distinct from `" + out_[existing->second].original +
                                  "` with a stable hash (both became `" + named.name + "`)");
        named.name = std::move(distinct);
        std::tie(existing, inserted) = index_.try_emplace(named.name, out_.size());
      }
      if (!inserted) {
        auto& kept = out_[existing->second];
        const auto kept_priority = parts_.priority_of(kept.server);
        if (naming_.on_collision == collision_rule::priority && upstream.priority > kept_priority) {
          parts_.collisions.push_back({kind_, named.name, upstream.server, original, kept.server,
                                       kept.original,
                                       "priority " + std::to_string(upstream.priority) + " over " +
                                           std::to_string(kept_priority)});
          kept = make_entry(upstream, item, original, std::move(named));
          continue;
        }
        std::string why = naming_.on_collision == collision_rule::priority
                              ? "priority " + std::to_string(kept_priority) + " over " +
                                    std::to_string(upstream.priority) + " (ties: config order)"
                              : naming_.on_collision == collision_rule::error
                                    ? "on_collision: error refuses the catalog"
                                    : "first in config order keeps the name";
        parts_.collisions.push_back({kind_, named.name, kept.server, kept.original, upstream.server,
                                     original, std::move(why)});
        continue;
      }
      out_.push_back(make_entry(upstream, item, original, std::move(named)));
    }
  }

 private:
  exposed_entry make_entry(const upstream_listing& upstream, const json& item,
                           const std::string& original, naming_result named) const {
    json definition = item;
    expose_definition(parts_.exposing, upstream.server, kind_, definition);
    definition[key_] = named.name;
    return {std::move(named.name), upstream.server, original, std::move(definition),
            std::move(named.decisions), std::move(named.requested), nullptr, nullptr};
  }

  entry_kind kind_;
  std::string key_;
  const naming_options& naming_;
  std::vector<exposed_entry>& out_;
  name_index& index_;
  catalog_parts& parts_;
};

}  // namespace

const std::vector<exposed_entry>& catalog::entries(entry_kind kind) const {
  switch (kind) {
    case entry_kind::tool:
      return tools_;
    case entry_kind::prompt:
      return prompts_;
    case entry_kind::resource:
      return resources_;
    case entry_kind::resource_template:
      return templates_;
  }
  return tools_;
}

const exposed_entry* catalog::find_tool(std::string_view exposed_name) const {
  return find_in(tool_index_, tools_, exposed_name);
}

const exposed_entry* catalog::find_prompt(std::string_view exposed_name) const {
  return find_in(prompt_index_, prompts_, exposed_name);
}

const exposed_entry* catalog::find_resource(std::string_view exposed_uri) const {
  return find_in(resource_index_, resources_, exposed_uri);
}

std::string catalog::uri_token(std::string_view server) const {
  for (const auto& [name, token] : uri_tokens_) {
    if (name == server) return token;
  }
  return {};
}

std::string catalog::expose_uri(std::string_view server, std::string_view uri) const {
  if (naming_.prefix != prefix_mode::always) return std::string(uri);
  const auto token = uri_token(server);
  if (token.empty()) return std::string(uri);
  if (is_ui_uri(uri)) {
    std::string out(uri.substr(0, ui_scheme.size()));
    out.append(token).append("/").append(uri.substr(ui_scheme.size()));
    return out;
  }
  if (scheme_of(uri)) return token + "+" + std::string(uri);
  return token + "+" + std::string(no_scheme) + ":" + std::string(uri);
}

std::optional<uri_target> catalog::resolve_uri(std::string_view exposed) const {
  auto target = resolve_uri_unfiltered(exposed);
  if (!target) return target;
  for (const auto& [server, filter] : resource_filters_) {
    if (server == target->server && !passes(filter, target->uri, "resources", nullptr)) return std::nullopt;
  }
  return target;
}

std::optional<uri_target> catalog::resolve_uri_unfiltered(std::string_view exposed) const {
  if (naming_.prefix != prefix_mode::always) {
    if (const auto* r = find_in(resource_index_, resources_, exposed)) {
      return uri_target{r->server, r->original};
    }
    const exposed_entry* best = nullptr;
    for (const auto& t : templates_) {
      const auto literal = template_literal(t.original);
      if (!literal.empty() && exposed.substr(0, literal.size()) == literal &&
          (best == nullptr || literal.size() > template_literal(best->original).size())) {
        best = &t;
      }
    }
    if (best != nullptr) return uri_target{best->server, std::string(exposed)};
    if (servers_with_resources_.size() == 1) {
      return uri_target{servers_with_resources_.front(), std::string(exposed)};
    }
    return std::nullopt;
  }
  if (is_ui_uri(exposed)) {
    // ui://<token>/<the original without ui://>
    const auto rest = exposed.substr(ui_scheme.size());
    const auto slash = rest.find('/');
    if (slash == std::string_view::npos || slash + 1 == rest.size()) return std::nullopt;
    const auto token = protocol::lower_ascii(rest.substr(0, slash));
    for (const auto& [server, t] : uri_tokens_) {
      if (t == token) return uri_target{server, std::string(exposed.substr(0, ui_scheme.size())) + std::string(rest.substr(slash + 1))};
    }
    return std::nullopt;
  }
  const auto scheme = scheme_of(exposed);
  if (!scheme) return std::nullopt;
  const auto plus = scheme->find('+');
  if (plus == std::string_view::npos) return std::nullopt;
  const auto token = protocol::lower_ascii(scheme->substr(0, plus));
  for (const auto& [server, t] : uri_tokens_) {
    if (t != token) continue;
    const auto rest = exposed.substr(plus + 1);
    const auto none = std::string(no_scheme) + ":";
    if (rest.substr(0, none.size()) == none) return uri_target{server, std::string(rest.substr(none.size()))};
    return uri_target{server, std::string(rest)};
  }
  return std::nullopt;
}

bool passes(const entry_filter& filter, std::string_view name, std::string_view what,
            std::string* rule) {
  const auto allowed = std::any_of(filter.allow.begin(), filter.allow.end(),
                                   [&](const std::string& g) { return glob_match(g, name); });
  if (!allowed) {
    if (rule != nullptr) *rule = std::string(what) + ".allow matches none of its patterns";
    return false;
  }
  for (const auto& g : filter.deny) {
    if (glob_match(g, name)) {
      if (rule != nullptr) *rule = std::string(what) + ".deny `" + g + "`";
      return false;
    }
  }
  return true;
}

std::string exposed_name(std::string_view ns, std::string_view original,
                         const naming_options& naming) {
  std::string out;
  out.reserve(ns.size() + naming.separator.size() + original.size());
  out.append(ns).append(naming.separator).append(original);
  return out;
}

std::string uri_token_for(std::string_view ns) {
  std::string out;
  out.reserve(ns.size() + 1);
  for (const char c : ns) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) != 0) {
      out += static_cast<char>(std::tolower(u));
    } else if (c == '-' || c == '.') {
      out += c;
    } else {
      out += '-';
    }
  }
  if (out.empty() || std::isalpha(static_cast<unsigned char>(out.front())) == 0) out.insert(0, "x");
  return out;
}

namespace {

std::string describe_constraint(const json& constraint) {
  std::string out;
  for (const auto& [key, value] : constraint.items()) {
    if (key == "hidden" || key == "value") continue;
    if (!out.empty()) out += ", ";
    out += key + " " + value.dump();
  }
  return out;
}

// Applies one override to `tool`: presentation fields, then argument constraints, which
// narrow the published inputSchema and become the schema every call is checked against.
void apply_override(exposed_entry& tool, const tool_override& o) {
  auto& d = tool.definition;
  if (!o.title.empty()) {
    d["title"] = o.title;
    tool.decisions.push_back("title overridden");
  }
  if (!o.description.empty()) {
    d["description"] = o.description;
    tool.decisions.push_back("description overridden");
  }
  if (o.annotations.is_object()) {
    if (!d.contains("annotations") || !d["annotations"].is_object()) d["annotations"] = json::object();
    for (const auto& [key, value] : o.annotations.items()) d["annotations"][key] = value;
    tool.decisions.push_back("annotations overridden");
  }
  if (o.arguments.empty()) return;
  if (!d.contains("inputSchema") || !d["inputSchema"].is_object()) d["inputSchema"] = {{"type", "object"}};
  auto& schema = d["inputSchema"];
  if (!schema.contains("properties") || !schema["properties"].is_object()) schema["properties"] = json::object();
  json checks{{"type", "object"}, {"properties", json::object()}};
  json fixed = json::object();
  for (const auto& [arg, constraint] : o.arguments) {
    if (constraint.value("hidden", false)) {
      schema["properties"].erase(arg);
      if (schema.contains("required") && schema["required"].is_array()) {
        auto& req = schema["required"];
        req.erase(std::remove(req.begin(), req.end(), json(arg)), req.end());
      }
      fixed[arg] = constraint.contains("value") ? constraint["value"] : json();
      tool.decisions.push_back("argument `" + arg + "` hidden; manifold always sends " + fixed[arg].dump());
      continue;
    }
    json narrowed = constraint;
    narrowed.erase("hidden");
    narrowed.erase("value");
    auto& property = schema["properties"][arg];
    if (!property.is_object()) property = json::object();
    for (const auto& [key, value] : narrowed.items()) property[key] = value;
    narrowed.erase("default");  // a default informs the host; it is no rule to enforce
    if (!narrowed.empty()) checks["properties"][arg] = std::move(narrowed);
    tool.decisions.push_back("argument `" + arg + "` narrowed: " + describe_constraint(constraint));
  }
  if (!checks["properties"].empty()) tool.argument_schema = std::move(checks);
  if (!fixed.empty()) tool.fixed_arguments = std::move(fixed);
}

}  // namespace

catalog build_catalog(const std::vector<upstream_listing>& upstreams,
                      const naming_options& naming, std::uint64_t generation,
                      const std::vector<tool_override>& overrides,
                      const std::map<std::string, std::string>& withheld) {
  catalog out;
  out.naming_ = naming;
  out.generation_ = generation;
  for (const auto& upstream : upstreams) {
    // Tokens are unique: a clash after lowercasing/mapping gets a numeric suffix, in
    // config order, so the mapping is stable across restarts.
    auto token = uri_token_for(upstream.namespace_);
    const auto base = token;
    for (int n = 2; std::any_of(out.uri_tokens_.begin(), out.uri_tokens_.end(),
                                [&](const auto& p) { return p.second == token; });
         ++n) {
      token = base + std::to_string(n);
    }
    out.uri_tokens_.emplace_back(upstream.server, token);
    out.resource_filters_.emplace_back(upstream.server, upstream.resource_filter);
    if (!upstream.resources.empty() || !upstream.resource_templates.empty()) {
      out.servers_with_resources_.push_back(upstream.server);
    }
  }

  name_index template_index;
  // Room for everything up front: growing 50,000 entries step by step costs more than
  // building them.
  std::size_t tool_count = 0;
  std::size_t prompt_count = 0;
  std::size_t resource_count = 0;
  for (const auto& u : upstreams) {
    tool_count += u.tools.size();
    prompt_count += u.prompts.size();
    resource_count += u.resources.size();
  }
  out.tools_.reserve(tool_count);
  out.tool_index_.reserve(tool_count);
  out.prompts_.reserve(prompt_count);
  out.prompt_index_.reserve(prompt_count);
  out.resources_.reserve(resource_count);
  out.resource_index_.reserve(resource_count);
  catalog_parts parts{out.collisions_, out.rejected_, out.filtered_, upstreams, out};
  kind_builder tools(entry_kind::tool, "name", naming, out.tools_, out.tool_index_, parts);
  kind_builder prompts(entry_kind::prompt, "name", naming, out.prompts_, out.prompt_index_, parts);
  kind_builder resources(entry_kind::resource, "uri", naming, out.resources_, out.resource_index_, parts);
  kind_builder templates(entry_kind::resource_template, "uriTemplate", naming, out.templates_,
                         template_index, parts);
  const auto shared_tools = naming.prefix == prefix_mode::when_needed
                                ? shared_names(upstreams, &upstream_listing::tools, &upstream_listing::tool_filter)
                                : std::set<std::string>{};
  const auto shared_prompts = naming.prefix == prefix_mode::when_needed
                                  ? shared_names(upstreams, &upstream_listing::prompts, &upstream_listing::prompt_filter)
                                  : std::set<std::string>{};
  for (const auto& u : upstreams) {
    // original -> exposed name: prefix (per mode), map characters, shorten; each step noted.
    const auto namer = [&](const std::set<std::string>& shared) {
      return [&u, &naming, &shared](const std::string& original) {
        naming_result r;
        const bool prefixed = naming.prefix == prefix_mode::always ||
                              (naming.prefix == prefix_mode::when_needed && shared.count(original) != 0);
        auto name = prefixed ? exposed_name(u.namespace_, original, naming) : original;
        if (prefixed) {
          r.decisions.push_back(naming.prefix == prefix_mode::always
                                    ? "prefixed with `" + u.namespace_ + naming.separator + "`"
                                    : "prefixed with `" + u.namespace_ + naming.separator +
                                          "`: another upstream offers the same name");
        }
        r.requested = name;
        auto mapped = map_characters(name, naming.chars);
        if (mapped != name) {
          r.decisions.push_back("characters outside the allowed set mapped to `_` (was `" + name + "`)");
        }
        auto shortened = shorten(mapped, naming.max_length, u.server + '\0' + original);
        if (shortened != mapped) {
          r.decisions.push_back("shortened to " + std::to_string(naming.max_length) +
                                " characters with a stable hash (was `" + mapped + "`)");
        }
        r.name = std::move(shortened);
        return r;
      };
    };
    const auto uri = [&](const std::string& original) {
      naming_result r{out.expose_uri(u.server, original), {}, {}};
      if (r.name != original) {
        r.decisions.push_back(is_ui_uri(original)
                                  ? "MCP App URI namespaced as `ui://" + out.uri_token(u.server) + "/`"
                                  : "URI scheme prefixed with `" + out.uri_token(u.server) + "+`");
      }
      return r;
    };
    tools.add(u, u.tools, u.tool_filter, "tools", namer(shared_tools));
    prompts.add(u, u.prompts, u.prompt_filter, "prompts", namer(shared_prompts));
    resources.add(u, u.resources, u.resource_filter, "resources", uri);
    templates.add(u, u.resource_templates, u.resource_filter, "resources", uri);
  }

  for (const auto& o : overrides) {
    const auto it = out.tool_index_.find(o.exposed);
    if (it == out.tool_index_.end()) {
      out.unmatched_.push_back(o.exposed);
      continue;
    }
    const auto index = it->second;
    auto& tool = out.tools_[index];
    apply_override(tool, o);
    if (!o.name.empty() && o.name != tool.name) {
      if (out.tool_index_.count(o.name) != 0) {
        const auto& other = out.tools_[out.tool_index_.at(o.name)];
        out.collisions_.push_back({entry_kind::tool, o.name, other.server, other.original, tool.server,
                                   tool.original, "the rename to an existing name is not applied"});
        continue;
      }
      out.tool_index_.erase(tool.name);
      tool.decisions.push_back("renamed from `" + tool.name + "`");
      tool.name = o.name;
      tool.definition["name"] = o.name;
      out.tool_index_.emplace(o.name, index);
    }
  }
  if (!withheld.empty()) {
    std::vector<exposed_entry> kept;
    out.tool_index_.clear();
    for (auto& t : out.tools_) {
      if (const auto w = withheld.find(t.name); w != withheld.end()) {
        out.filtered_.push_back({entry_kind::tool, t.server, t.original, w->second});
        continue;
      }
      out.tool_index_.emplace(t.name, kept.size());
      kept.push_back(std::move(t));
    }
    out.tools_ = std::move(kept);
  }
  for (auto* entries : {&out.tools_, &out.prompts_, &out.resources_, &out.templates_}) {
    for (auto& e : *entries) e.digest = digest_of(e.server, e.definition);
  }
  return out;
}

std::uint64_t fingerprint(const catalog& c, entry_kind kind) {
  fingerprint_builder f;
  for (const auto& e : c.entries(kind)) f.add(e);
  return f.value();
}

std::uint64_t digest_of(std::string_view server, const json& definition) {
  fingerprint_builder f;
  f.mix(server);
  f.mix(definition.dump(-1, ' ', false, json::error_handler_t::replace));
  return f.value();
}

}  // namespace manifold::ns
