// `http.sessions`: the session key ring and the limits of sessions sealed into their ids.
#include "sessions_reader.hpp"

#include <fstream>
#include <set>
#include <sstream>

#include "manifold/protocol/text.hpp"

namespace manifold::config::detail {

namespace {

constexpr std::size_t secret_bytes = 32;
constexpr std::size_t max_keys = 16;
constexpr std::size_t max_keys_file_bytes = 64 * 1024;

std::string resolve_beside(const std::string& config_file, const std::string& path) {
  const auto slash = config_file.rfind('/');
  if (path.empty() || path.front() == '/' || slash == std::string::npos) return path;
  return config_file.substr(0, slash + 1) + path;
}

// http(s)://host[:port], nothing after.
bool base_url(std::string_view url) {
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
  } else {
    return false;
  }
  if (rest.empty() || rest.front() == ':') return false;
  for (const char c : rest) {
    if (c == '/' || c == '?' || c == '#' || c == '@' || static_cast<unsigned char>(c) <= 0x20) return false;
  }
  return true;
}

bool blank(std::string_view line) { return line.find_first_not_of(" \t\r") == std::string_view::npos; }

// Why key (`id`, `secret_text`) cannot be used; empty when it can. Never quotes the secret.
std::string key_problem(const std::string& id, std::string_view secret_text, const std::set<std::string>& seen) {
  if (!valid_session_key_id(id)) return "a session key id is 1 to 32 of A-Z a-z 0-9 _ -";
  if (seen.count(id) != 0) return "session key `" + id + "` is listed twice";
  if (!decode_session_secret(secret_text)) {
    return "session key `" + id + "`: the secret must be base64 of exactly 32 random bytes (`openssl rand -base64 32`)";
  }
  return {};
}

// Lines "<id> <secret>"; blank lines and lines starting with # are skipped.
void read_keys_file(yaml_context& ctx, const YAML::Node& node, const std::string& path, const std::string& file,
                    std::vector<http_config::session_key>& out) {
  std::ifstream in(file, std::ios::binary);
  if (!in) {
    ctx.fail(node, path, "cannot read " + file);
    return;
  }
  std::string text(max_keys_file_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_keys_file_bytes) {
    ctx.fail(node, path, file + " is larger than 64 KiB: not a keys file");
    return;
  }
  std::istringstream lines(text);
  std::string line;
  std::set<std::string> seen;
  for (int number = 1; std::getline(lines, line); ++number) {
    const auto start = line.find_first_not_of(" \t");
    if (blank(line) || line[start] == '#') continue;
    std::istringstream fields(line);
    std::string id;
    std::string secret;
    std::string extra;
    fields >> id >> secret >> extra;
    const source_position where{file, number, static_cast<int>(start) + 1};
    if (secret.empty() || !extra.empty()) {
      ctx.fail_at(where, path, "expected a line `<key id> <base64 secret>`");
      continue;
    }
    if (auto why = key_problem(id, secret, seen); !why.empty()) {
      ctx.fail_at(where, path, std::move(why));
      continue;
    }
    seen.insert(id);
    out.push_back({id, *decode_session_secret(secret)});
  }
  if (out.empty() && seen.empty()) ctx.fail(node, path, file + " holds no key");
}

void read_inline_keys(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                      std::vector<http_config::session_key>& out) {
  if (!node.IsSequence() || node.size() == 0) {
    ctx.fail(node, path, "expected a list of {id, secret}");
    return;
  }
  std::set<std::string> seen;
  for (std::size_t i = 0; i < node.size(); ++i) {
    const auto item = node[i];
    const auto child = path + "[" + std::to_string(i) + "]";
    if (!ctx.expect_map(item, child)) continue;
    std::optional<std::string> id;
    std::optional<std::string> secret;
    ctx.for_each_key(item, child, {"id", "secret"},
                     [&](const std::string& k, const YAML::Node& value, const std::string& grandchild) {
                       (k == "id" ? id : secret) = ctx.string_value(value, grandchild);
                     });
    if (!id || !secret) {
      ctx.fail(item, child, "a session key needs `id` and `secret`");
      continue;
    }
    if (auto why = key_problem(*id, *secret, seen); !why.empty()) {
      ctx.fail(item, child, std::move(why));
      continue;
    }
    seen.insert(*id);
    out.push_back({*id, *decode_session_secret(*secret)});
  }
}

}  // namespace

bool valid_session_key_id(std::string_view id) {
  if (id.empty() || id.size() > 32) return false;
  for (const char c : id) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::optional<std::string> decode_session_secret(std::string_view text) {
  std::string normal(text);
  while (!normal.empty() && normal.back() == '=') normal.pop_back();
  for (auto& c : normal) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  auto raw = protocol::base64url_decode(normal);
  if (!raw || raw->size() != secret_bytes) return std::nullopt;
  return raw;
}

void read_sessions(yaml_context& ctx, const YAML::Node& node, const std::string& path,
                   http_config::sessions_config& out, std::vector<std::string>& key_files) {
  if (!ctx.expect_map(node, path)) return;
  const YAML::Node* keys_node = nullptr;
  const YAML::Node* file_node = nullptr;
  YAML::Node keys_value;
  YAML::Node file_value;
  ctx.for_each_key(
      node, path, {"keys", "keys_file", "max_lifetime", "ended_sessions", "advertise", "peers"},
      [&](const std::string& k, const YAML::Node& value, const std::string& child) {
        if (k == "keys") {
          keys_value = value;
          keys_node = &keys_value;
          read_inline_keys(ctx, value, child, out.keys);
        } else if (k == "keys_file") {
          file_value = value;
          file_node = &file_value;
          if (auto v = ctx.string_value(value, child)) {
            out.keys_file = resolve_beside(ctx.file(), *v);
            key_files.push_back(out.keys_file);
            read_keys_file(ctx, value, child, out.keys_file, out.keys);
          }
        } else if (k == "max_lifetime") {
          if (auto d = ctx.duration_value(value, child)) {
            if (*d < std::chrono::minutes(1)) {
              ctx.fail(value, child, "max_lifetime must be at least 1m");
            } else {
              out.max_lifetime = std::chrono::duration_cast<std::chrono::seconds>(*d);
            }
          }
        } else if (k == "peers") {
          for (auto& url : ctx.string_list(value, child)) {
            while (!url.empty() && url.back() == '/') url.pop_back();
            if (!base_url(url)) {
              ctx.fail(value, child, "a peer is http://HOST:PORT or https://HOST:PORT, not `" + url + "`");
            } else {
              out.peers.push_back(std::move(url));
            }
          }
        } else if (k == "ended_sessions") {
          if (auto n = ctx.int_value(value, child, 0, 10'000'000)) out.ended_sessions = static_cast<std::size_t>(*n);
        } else {
          if (auto v = ctx.string_value(value, child)) {
            while (!v->empty() && v->back() == '/') v->pop_back();
            if (!base_url(*v)) {
              ctx.fail(value, child, "advertise must be http://HOST:PORT or https://HOST:PORT");
            } else {
              out.advertise = std::move(*v);
            }
          }
        }
      });
  if (keys_node != nullptr && file_node != nullptr) {
    ctx.fail(*file_node, path, "use either `keys` or `keys_file`, not both");
  }
  if (keys_node == nullptr && file_node == nullptr) {
    ctx.fail(node, path, "http.sessions needs `keys_file` (or `keys`)");
  }
  if (out.keys.size() > max_keys) ctx.fail(node, path, "at most 16 session keys");
}

}  // namespace manifold::config::detail
