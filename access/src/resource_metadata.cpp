#include "manifold/access/resource_metadata.hpp"

namespace manifold::access {

namespace {

struct url_parts {
  std::string origin;  // scheme://authority
  std::string path;    // without query and fragment, no trailing slash ("" for the root)
};

std::optional<url_parts> split_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return std::nullopt;
  const auto scheme = url.substr(0, scheme_end);
  if (scheme != "https" && scheme != "http") return std::nullopt;
  const auto authority_end = url.find_first_of("/?#", scheme_end + 3);
  url_parts out;
  out.origin = std::string(url.substr(0, authority_end));
  if (authority_end == scheme_end + 3) return std::nullopt;
  if (authority_end != std::string_view::npos && url[authority_end] == '/') {
    const auto path_end = url.find_first_of("?#", authority_end);
    out.path = std::string(url.substr(authority_end, path_end - authority_end));
  }
  while (!out.path.empty() && out.path.back() == '/') out.path.pop_back();
  return out;
}

std::string quoted_value(std::string_view value) {
  std::string out = "\"";
  for (const char c : value) {
    if (c != '"' && c != '\\' && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) out += c;
  }
  return out + "\"";
}

}  // namespace

nlohmann::json protected_resource_metadata(const config::resource_config& resource) {
  nlohmann::json out{{"resource", resource.url}, {"bearer_methods_supported", {"header"}}};
  out["authorization_servers"] = resource.authorization_servers;
  if (!resource.scopes_supported.empty()) out["scopes_supported"] = resource.scopes_supported;
  return out;
}

std::string resource_metadata_url(std::string_view resource_url) {
  const auto parts = split_url(resource_url);
  if (!parts) return {};
  return parts->origin + "/.well-known/oauth-protected-resource" + parts->path;
}

std::vector<std::string> resource_metadata_paths(std::string_view resource_url) {
  std::vector<std::string> out{"/.well-known/oauth-protected-resource"};
  const auto parts = split_url(resource_url);
  if (parts && !parts->path.empty()) out.insert(out.begin(), out.front() + parts->path);
  return out;
}

std::string www_authenticate(const bearer_challenge& challenge) {
  std::string out = "Bearer";
  const auto add = [&](std::string_view name, const std::string& value) {
    if (value.empty()) return;
    out += out.size() == 6 ? " " : ", ";
    out += name;
    out += '=';
    out += quoted_value(value);
  };
  add("error", challenge.error);
  add("error_description", challenge.error_description);
  add("scope", challenge.scope);
  add("resource_metadata", challenge.resource_metadata);
  return out;
}

}  // namespace manifold::access
