#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/namespace/catalog.hpp"

namespace manifold::ns {

// One rule of what a host session may see, on exposed names (tools, prompts) and exposed
// URIs and URI templates (resources): a group's globs, a role's grants. Pure.
class admission {
 public:
  admission() = default;
  admission(const admission&) = delete;
  admission& operator=(const admission&) = delete;
  virtual ~admission() = default;

  [[nodiscard]] virtual bool admits(entry_kind kind, std::string_view exposed) const = 0;
};

// Include/exclude globs on exposed names and URIs (a group).
class name_filter final : public admission {
 public:
  name_filter(std::vector<std::string> include, std::vector<std::string> exclude)
      : include_(std::move(include)), exclude_(std::move(exclude)) {}
  [[nodiscard]] bool admits(entry_kind kind, std::string_view exposed) const override;

 private:
  std::vector<std::string> include_;
  std::vector<std::string> exclude_;
};

// A host's name for a tool, resolved in a view (view::resolve_tool).
struct tool_resolution {
  const exposed_entry* tool = nullptr;  // null: unknown, hidden or ambiguous
  std::size_t candidates = 0;           // visible tools it could mean (over 1: ambiguous)
};

// A host's URI, resolved in a view (view::resolve_uri).
struct uri_resolution {
  std::optional<uri_target> target;  // nullopt: unknown, hidden or ambiguous
  std::size_t candidates = 0;        // visible resources it could mean (over 1: ambiguous)
};

struct view_options {
  // Over this many visible tools (0: no cap) with meta_tools on, the session sees
  // search_tools, describe_tool and call_tool instead.
  std::size_t tool_cap = 0;
  bool meta_tools = false;
};

// The part of one catalog that one kind of host session may see (its group, its roles):
// a value computed once per catalog generation and shared by every session with the same
// rules. An entry is visible when every rule admits it. Hidden means hidden on every path:
// lists, lookups by name, URIs. Keeps its catalog alive. Immutable.
class view {
 public:
  view(std::shared_ptr<const catalog> source, std::vector<std::shared_ptr<const admission>> rules,
       view_options options);

  [[nodiscard]] const catalog& source() const { return *catalog_; }
  [[nodiscard]] const std::shared_ptr<const catalog>& source_ptr() const { return catalog_; }
  [[nodiscard]] std::uint64_t generation() const { return catalog_->generation(); }

  // The visible entries of a kind, in catalog order.
  [[nodiscard]] const std::vector<const exposed_entry*>& entries(entry_kind kind) const {
    return visible_[index(kind)];
  }
  // A visible tool or prompt by exposed name; null when unknown or hidden.
  [[nodiscard]] const exposed_entry* tool(std::string_view name) const;
  [[nodiscard]] const exposed_entry* prompt(std::string_view name) const;
  // Whether an exposed URI (listed, or an instance of a template) may be reached.
  [[nodiscard]] bool admits_uri(std::string_view uri) const;

  // What a tools/call name means: the visible tool exposed under it; failing that, the one
  // visible tool whose upstream calls it so. MCP Apps call their server's tools by the
  // server's own names (the app was written for that server alone), so an unprefixed name
  // reaches the one tool this session may see under it. Hidden tools never count: a name
  // only hidden tools have is unknown, one two visible tools share is ambiguous.
  [[nodiscard]] tool_resolution resolve_tool(std::string_view name) const;
  // What a URI from the host (resources/read, subscribe, unsubscribe, completion refs)
  // means, in this order: a visible listed resource exposed under it; the one visible
  // listed resource whose upstream's own URI it is (an MCP App reading its own `ui://`
  // resource); an exposed URI that maps back to an upstream (a template instance, an
  // unlisted resource) when the view admits it and that upstream's policy lets it through.
  [[nodiscard]] uri_resolution resolve_uri(std::string_view uri) const;
  // Too many tools for this host: it is offered the three meta tools instead.
  [[nodiscard]] bool meta_mode() const { return meta_mode_; }
  // Equal when a host would see the same list of that kind.
  [[nodiscard]] std::uint64_t fingerprint(entry_kind kind) const { return fingerprints_[index(kind)]; }

 private:
  static std::size_t index(entry_kind kind) { return static_cast<std::size_t>(kind); }
  [[nodiscard]] bool admits(entry_kind kind, std::string_view name) const;
  [[nodiscard]] const exposed_entry* visible(entry_kind kind, const exposed_entry* e) const;

  std::shared_ptr<const catalog> catalog_;
  std::vector<std::shared_ptr<const admission>> rules_;
  std::array<std::vector<const exposed_entry*>, 4> visible_;
  std::array<std::vector<bool>, 4> shown_;  // by position in the catalog's vector
  std::array<std::uint64_t, 4> fingerprints_{};
  bool meta_mode_ = false;
};

// The kinds whose list differs between two views (what list_changed to send).
std::vector<entry_kind> changed_kinds(const view& before, const view& after);

}  // namespace manifold::ns
