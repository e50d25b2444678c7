#include "manifold/namespace/view.hpp"

#include <algorithm>

namespace manifold::ns {

namespace {

constexpr std::array<entry_kind, 4> all_kinds{entry_kind::tool, entry_kind::prompt,
                                              entry_kind::resource, entry_kind::resource_template};

}  // namespace

bool name_filter::admits(entry_kind, std::string_view exposed) const {
  const auto match = [exposed](const std::string& g) { return glob_match(g, exposed); };
  return std::any_of(include_.begin(), include_.end(), match) &&
         std::none_of(exclude_.begin(), exclude_.end(), match);
}

view::view(std::shared_ptr<const catalog> source,
           std::vector<std::shared_ptr<const admission>> rules, view_options options)
    : catalog_(std::move(source)), rules_(std::move(rules)) {
  for (const auto kind : all_kinds) {
    const auto& entries = catalog_->entries(kind);
    auto& visible = visible_[index(kind)];
    auto& shown = shown_[index(kind)];
    shown.assign(entries.size(), false);
    fingerprint_builder f;
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (!admits(kind, entries[i].name)) continue;
      shown[i] = true;
      visible.push_back(&entries[i]);
      f.add(entries[i]);
    }
    fingerprints_[index(kind)] = f.value();
  }
  meta_mode_ = options.meta_tools && options.tool_cap > 0 &&
               entries(entry_kind::tool).size() > options.tool_cap;
}

bool view::admits(entry_kind kind, std::string_view name) const {
  return std::all_of(rules_.begin(), rules_.end(),
                     [&](const auto& rule) { return rule->admits(kind, name); });
}

const exposed_entry* view::visible(entry_kind kind, const exposed_entry* e) const {
  if (e == nullptr) return nullptr;
  const auto& entries = catalog_->entries(kind);
  const auto position = static_cast<std::size_t>(e - entries.data());
  return shown_[index(kind)][position] ? e : nullptr;
}

const exposed_entry* view::tool(std::string_view name) const {
  return visible(entry_kind::tool, catalog_->find_tool(name));
}

const exposed_entry* view::prompt(std::string_view name) const {
  return visible(entry_kind::prompt, catalog_->find_prompt(name));
}

bool view::admits_uri(std::string_view uri) const { return admits(entry_kind::resource, uri); }

tool_resolution view::resolve_tool(std::string_view name) const {
  if (const auto* exact = tool(name)) return {exact, 1};
  tool_resolution out;
  for (const auto* t : entries(entry_kind::tool)) {
    if (t->original != name) continue;
    out.tool = ++out.candidates == 1 ? t : nullptr;
  }
  return out;
}

uri_resolution view::resolve_uri(std::string_view uri) const {
  if (const auto* listed = visible(entry_kind::resource, catalog_->find_resource(uri))) {
    return {uri_target{listed->server, listed->original}, 1};
  }
  uri_resolution out;
  for (const auto* r : entries(entry_kind::resource)) {
    if (r->original != uri) continue;
    if (++out.candidates == 1) {
      out.target = uri_target{r->server, r->original};
    } else {
      out.target.reset();
    }
  }
  if (out.candidates > 0) return out;
  if (!admits_uri(uri)) return out;
  out.target = catalog_->resolve_uri(uri);
  if (out.target) out.candidates = 1;
  return out;
}

std::vector<entry_kind> changed_kinds(const view& before, const view& after) {
  std::vector<entry_kind> out;
  for (const auto kind : all_kinds) {
    if (before.fingerprint(kind) != after.fingerprint(kind)) out.push_back(kind);
  }
  return out;
}

}  // namespace manifold::ns
