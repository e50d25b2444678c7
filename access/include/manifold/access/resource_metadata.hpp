#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/config/config.hpp"

// OAuth 2.1 resource server pieces that MCP authorization (2025-11-25) requires: the
// protected resource metadata document (RFC 9728) and Bearer challenges (RFC 6750).
namespace manifold::access {

// The document served at the metadata paths: resource, authorization_servers,
// scopes_supported, bearer_methods_supported ["header"].
nlohmann::json protected_resource_metadata(const config::resource_config& resource);

// Where the metadata of `resource_url` lives (RFC 9728 section 3.1): the well-known segment
// inserted between the host and the path: https://h/mcp -> https://h/.well-known/oauth-protected-resource/mcp.
// Empty when `resource_url` is not an absolute http(s) URL.
std::string resource_metadata_url(std::string_view resource_url);

// The request paths to serve the document on: the path-inserted form and, for clients that
// only try the root, /.well-known/oauth-protected-resource.
std::vector<std::string> resource_metadata_paths(std::string_view resource_url);

// One `WWW-Authenticate: Bearer ...` challenge. Empty fields are left out; values are quoted
// with quotes and backslashes removed (they never carry a credential).
struct bearer_challenge {
  std::string error;              // invalid_request | invalid_token | insufficient_scope | empty
  std::string error_description;
  std::string scope;              // space-separated scopes the resource needs
  std::string resource_metadata;  // resource_metadata_url(...)
};

std::string www_authenticate(const bearer_challenge& challenge);

}  // namespace manifold::access
