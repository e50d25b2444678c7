#include "manifold/access/commands.hpp"

#include <istream>
#include <ostream>

#include "manifold/access/api_key_store.hpp"
#include "manifold/access/audit_log.hpp"
#include "manifold/access/principal.hpp"
#include "manifold/access/role_policy.hpp"
#include "manifold/config/config_error.hpp"
#include "manifold/config/config_loader.hpp"
#include "manifold/protocol/json_access.hpp"

namespace manifold::access {

int run_key_hash(std::istream& in, std::ostream& out, std::ostream& err) {
  std::string key;
  std::getline(in, key);
  while (!key.empty() && (key.back() == '\r' || key.back() == ' ' || key.back() == '\t')) key.pop_back();
  if (key.empty()) {
    err << "key hash: give the key on standard input, e.g. `printf %s \"$KEY\" | manifold key hash`\n";
    return 2;
  }
  out << hash_api_key(key) << "\n";
  return 0;
}

int run_key_new(std::ostream& out) {
  const auto key = generate_api_key();
  out << "key:  " << key << "\n"
      << "hash: " << hash_api_key(key) << "\n"
      << "Give the key to its holder; put only the hash in auth.api_keys.\n";
  return 0;
}

int run_audit_verify(const std::string& path, std::ostream& out, std::ostream& err) {
  const auto check = verify_audit_file(path);
  if (check.ok) {
    out << path << ": " << check.lines << " lines, chain intact; head " << check.head << "\n";
    return 0;
  }
  if (check.bad_line == 0) {
    err << path << ": " << check.why << "\n";
    return 2;
  }
  err << path << ":" << check.bad_line << ": tampered: " << check.why << "\n";
  return 1;
}

int run_explain(const config::config& cfg, const explain_request& request, std::ostream& out, std::ostream& err) {
  nlohmann::json arguments;
  if (!request.arguments.empty()) {
    auto parsed = protocol::parse_json(request.arguments);
    if (!parsed.ok() || !parsed.value.is_object()) {
      err << "explain: --args must be a JSON object\n";
      return 2;
    }
    arguments = std::move(parsed.value);
  }
  auto roles = request.roles;
  for (const auto& key : cfg.auth.api_keys) {
    if (key.principal == request.principal) roles.insert(roles.end(), key.roles.begin(), key.roles.end());
  }
  if (!request.principal.empty() && cfg.auth.stdio_identity.principal == request.principal) {
    roles.insert(roles.end(), cfg.auth.stdio_identity.roles.begin(), cfg.auth.stdio_identity.roles.end());
  }
  roles = normalized_roles(std::move(roles));
  const role_policy policy(cfg.roles);
  const auto e = policy.explain(roles, entry_kind::tool, request.tool, arguments.is_null() ? nullptr : &arguments);
  out << "principal " << (request.principal.empty() ? "(none)" : request.principal) << ", roles ";
  for (std::size_t i = 0; i < roles.size(); ++i) out << (i == 0 ? "" : ", ") << roles[i];
  out << (roles.empty() ? "(none)\n" : "\n") << e.text();
  out << "decided by: " << e.decided_by << "\n";
  const bool yes = e.visible && (!e.call || e.call->allowed);
  return yes ? 0 : 1;
}

int run_explain(const std::string& config_path, const explain_request& request, std::ostream& out, std::ostream& err) {
  try {
    return run_explain(config::load_config_file(config_path), request, out, err);
  } catch (const config::config_error& e) {
    for (const auto& d : e.diagnostics()) err << d.to_string() << "\n";
    return 2;
  }
}

}  // namespace manifold::access
