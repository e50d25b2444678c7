#pragma once

#include <valijson/schema.hpp>
#include <valijson/validator.hpp>

#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/access/role_view.hpp"
#include "manifold/config/config.hpp"

// Roles compiled from config once: globs kept as written, argument constraints as valijson
// schemas. Internal to the access library.
namespace manifold::access {

// Allow/deny globs over one kind of exposed entry; nothing is admitted unless allowed.
struct compiled_filter {
  std::vector<std::string> allow;
  std::vector<std::string> deny;

  // The glob that decided: an allow glob when admitted, the deny glob when refused, empty when
  // no allow glob matches.
  struct admission {
    bool admitted = false;
    std::string pattern;
  };
  [[nodiscard]] admission admit(std::string_view name) const;
};

// One argument's constraint in a rule's `when`.
struct compiled_constraint {
  std::string argument;
  nlohmann::json fragment;  // as configured, without `optional`
  bool optional = false;
  bool has_pattern = false;
  std::unique_ptr<valijson::Schema> schema;
  std::unique_ptr<valijson::Validator> validator;  // holds the compiled regex cache

  // Why `arguments` breaks this constraint ("argument `x` must ..."), or nullopt.
  [[nodiscard]] std::optional<std::string> violation(const nlohmann::json& arguments) const;
  // "must match ^dev- and be at most 5": the fragment in words.
  [[nodiscard]] std::string requirement() const;
};

struct compiled_rule {
  std::string name;
  std::vector<std::string> tools;
  bool deny = false;
  std::vector<compiled_constraint> when;

  [[nodiscard]] bool applies_to(std::string_view tool) const;
  // The refusal message when `arguments` make this rule refuse `tool`, or nullopt.
  [[nodiscard]] std::optional<std::string> refusal(std::string_view tool, const nlohmann::json& arguments) const;
  // The rule in words, for explain.
  [[nodiscard]] std::string summary() const;
};

struct compiled_role {
  std::string name;
  compiled_filter tools;
  compiled_filter prompts;
  compiled_filter resources;
  std::vector<std::string> groups;  // empty: any
  std::vector<compiled_rule> rules;
  config::role_limits_config limits;

  [[nodiscard]] const compiled_filter& filter(entry_kind kind) const;
  // The first rule of this role that refuses the call, with its message.
  [[nodiscard]] std::optional<std::pair<const compiled_rule*, std::string>> refusal(
      std::string_view tool, const nlohmann::json& arguments) const;
};

struct compiled_policy {
  std::vector<compiled_role> roles;  // sorted by name
  [[nodiscard]] const compiled_role* find(std::string_view name) const;
};

// Compiles `roles`; throws std::invalid_argument naming the role and rule when a constraint
// cannot be compiled (the config loader refuses such configs first).
std::shared_ptr<const compiled_policy> compile_policy(const std::vector<config::role_config>& roles);

}  // namespace manifold::access
