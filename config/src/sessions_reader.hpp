#pragma once

// Private to config/: reading `http.sessions` (config.hpp documents it) and its keys file.

#include <string>

#include "manifold/config/config.hpp"
#include "yaml_context.hpp"

namespace manifold::config::detail {

// `keys_file` is resolved beside the config file (ctx.file()) and read now; its path is
// added to `key_files` so that a changed file reloads the config.
void read_sessions(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                   http_config::sessions_config& out, std::vector<std::string>& key_files);

// A session key's secret as written: base64 or base64url (padding optional) of exactly 32
// bytes, as `openssl rand -base64 32` prints it; nullopt otherwise.
std::optional<std::string> decode_session_secret(std::string_view text);

// Whether `id` is a valid session key id: 1 to 32 of [A-Za-z0-9_-].
bool valid_session_key_id(std::string_view id);

}  // namespace manifold::config::detail
