#include "manifold/namespace/catalog.hpp"

#include <algorithm>
#include <cctype>

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

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

// The literal part of a URI template before its first expression.
std::string_view template_literal(std::string_view uri_template) {
  return uri_template.substr(0, uri_template.find('{'));
}

constexpr std::string_view no_scheme = "none";

// Adds the entries of one kind from one upstream, reporting collisions and rejects.
class kind_builder {
 public:
  kind_builder(entry_kind kind, std::string_view key, std::vector<exposed_entry>& out,
               name_index& index, std::vector<collision>& collisions,
               std::vector<rejected_entry>& rejected)
      : kind_(kind), key_(key), out_(out), index_(index), collisions_(collisions),
        rejected_(rejected) {}

  template <typename Expose>
  void add(const std::string& server, const std::vector<json>& items, Expose expose) {
    for (const auto& item : items) {
      const auto field = item.is_object() ? item.find(key_) : item.end();
      if (!item.is_object() || field == item.end() || !field->is_string() ||
          field->get_ref<const std::string&>().empty()) {
        rejected_.push_back({server, std::string(to_string(kind_)) + " without a string `" +
                                         std::string(key_) + "`: " + item.dump().substr(0, 200)});
        continue;
      }
      const auto& original = field->get_ref<const std::string&>();
      auto exposed = expose(original);
      if (const auto existing = index_.find(exposed); existing != index_.end()) {
        const auto& kept = out_[existing->second];
        collisions_.push_back({kind_, std::move(exposed), kept.server, kept.original, server,
                               original, "first in config order keeps the name"});
        continue;
      }
      json definition = item;
      definition[key_] = exposed;
      index_.emplace(exposed, out_.size());
      out_.push_back({std::move(exposed), server, original, std::move(definition)});
    }
  }

 private:
  entry_kind kind_;
  std::string key_;
  std::vector<exposed_entry>& out_;
  name_index& index_;
  std::vector<collision>& collisions_;
  std::vector<rejected_entry>& rejected_;
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

std::string catalog::uri_token(std::string_view server) const {
  for (const auto& [name, token] : uri_tokens_) {
    if (name == server) return token;
  }
  return {};
}

std::string catalog::expose_uri(std::string_view server, std::string_view uri) const {
  if (naming_.prefix == prefix_mode::never) return std::string(uri);
  const auto token = uri_token(server);
  if (token.empty()) return std::string(uri);
  if (scheme_of(uri)) return token + "+" + std::string(uri);
  return token + "+" + std::string(no_scheme) + ":" + std::string(uri);
}

std::optional<uri_target> catalog::resolve_uri(std::string_view exposed) const {
  if (naming_.prefix == prefix_mode::never) {
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
  const auto scheme = scheme_of(exposed);
  if (!scheme) return std::nullopt;
  const auto plus = scheme->find('+');
  if (plus == std::string_view::npos) return std::nullopt;
  const auto token = lower(scheme->substr(0, plus));
  for (const auto& [server, t] : uri_tokens_) {
    if (t != token) continue;
    const auto rest = exposed.substr(plus + 1);
    const auto none = std::string(no_scheme) + ":";
    if (rest.substr(0, none.size()) == none) return uri_target{server, std::string(rest.substr(none.size()))};
    return uri_target{server, std::string(rest)};
  }
  return std::nullopt;
}

std::string exposed_name(std::string_view ns, std::string_view original,
                         const naming_options& naming) {
  if (naming.prefix == prefix_mode::never) return std::string(original);
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

catalog build_catalog(const std::vector<upstream_listing>& upstreams,
                      const naming_options& naming, std::uint64_t generation) {
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
    if (!upstream.resources.empty() || !upstream.resource_templates.empty()) {
      out.servers_with_resources_.push_back(upstream.server);
    }
  }

  name_index template_index;
  kind_builder tools(entry_kind::tool, "name", out.tools_, out.tool_index_, out.collisions_,
                     out.rejected_);
  kind_builder prompts(entry_kind::prompt, "name", out.prompts_, out.prompt_index_,
                       out.collisions_, out.rejected_);
  kind_builder resources(entry_kind::resource, "uri", out.resources_, out.resource_index_,
                         out.collisions_, out.rejected_);
  kind_builder templates(entry_kind::resource_template, "uriTemplate", out.templates_,
                         template_index, out.collisions_, out.rejected_);
  for (const auto& u : upstreams) {
    const auto name = [&](const std::string& original) {
      return exposed_name(u.namespace_, original, naming);
    };
    const auto uri = [&](const std::string& original) { return out.expose_uri(u.server, original); };
    tools.add(u.server, u.tools, name);
    prompts.add(u.server, u.prompts, name);
    resources.add(u.server, u.resources, uri);
    templates.add(u.server, u.resource_templates, uri);
  }
  return out;
}

std::uint64_t fingerprint(const catalog& c, entry_kind kind) {
  std::uint64_t h = 14695981039346656037ULL;
  const auto mix = [&h](std::string_view s) {
    for (const char ch : s) h = (h ^ static_cast<unsigned char>(ch)) * 1099511628211ULL;
    h = (h ^ 0xFFU) * 1099511628211ULL;
  };
  for (const auto& e : c.entries(kind)) {
    mix(e.server);
    mix(e.definition.dump());
  }
  return h;
}

}  // namespace manifold::ns
