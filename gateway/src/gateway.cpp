#include "manifold/gateway/gateway.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include <fstream>

#include "manifold/gateway/pinning.hpp"
#include "manifold/io/parallel.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/json_access.hpp"
#include "manifold/protocol/text.hpp"

namespace manifold::gateway {

namespace asio = boost::asio;
using protocol::json;
using std::chrono::milliseconds;

namespace {

milliseconds longest_startup(const config::config& cfg) {
  milliseconds out{0};
  for (const auto& s : cfg.servers) out = std::max(out, s.startup_timeout + s.timeout);
  return out;
}

struct list_spec {
  ns::entry_kind kind;
  const char* capability;  // JSON pointer into the upstream's capabilities
  const char* method;
  const char* key;
};
constexpr std::array<list_spec, 4> list_specs{{
    {ns::entry_kind::tool, "/tools", "tools/list", "tools"},
    {ns::entry_kind::prompt, "/prompts", "prompts/list", "prompts"},
    {ns::entry_kind::resource, "/resources", "resources/list", "resources"},
    {ns::entry_kind::resource_template, "/resources", "resources/templates/list", "resourceTemplates"},
}};

std::vector<json>& items_of(ns::upstream_listing& l, ns::entry_kind kind) {
  switch (kind) {
    case ns::entry_kind::tool:
      return l.tools;
    case ns::entry_kind::prompt:
      return l.prompts;
    case ns::entry_kind::resource:
      return l.resources;
    case ns::entry_kind::resource_template:
      return l.resource_templates;
  }
  return l.tools;
}

ns::naming_options naming_options(const config::naming_config& naming) {
  ns::naming_options out;
  out.separator = naming.separator;
  out.prefix = naming.prefix == config::prefix_mode::never         ? ns::prefix_mode::never
               : naming.prefix == config::prefix_mode::when_needed ? ns::prefix_mode::when_needed
                                                                   : ns::prefix_mode::always;
  out.chars = naming.spec_charset ? ns::charset::spec : ns::charset::strict;
  out.max_length = naming.max_length;
  out.on_collision = naming.on_collision == config::collision_rule::error      ? ns::collision_rule::error
                     : naming.on_collision == config::collision_rule::priority ? ns::collision_rule::priority
                                                                               : ns::collision_rule::first_wins;
  return out;
}

ns::entry_filter filter_of(const config::entry_filter_config& f) { return {f.allow, f.deny}; }

const std::set<ns::entry_kind> all_kinds{ns::entry_kind::tool, ns::entry_kind::prompt,
                                         ns::entry_kind::resource,
                                         ns::entry_kind::resource_template};

}  // namespace

// A listing for `server` with its catalog policy, and the items of `previous` if any.
ns::upstream_listing listing_for(const config::server_config& server,
                                 const ns::upstream_listing* previous) {
  ns::upstream_listing out = previous != nullptr ? *previous : ns::upstream_listing{};
  out.server = server.name;
  out.namespace_ = server.namespace_;
  out.priority = server.priority;
  out.tool_filter = filter_of(server.tools);
  out.prompt_filter = filter_of(server.prompts);
  out.resource_filter = filter_of(server.resources);
  return out;
}

// True when a running upstream can go on serving `b` (only catalog policy differs).
bool same_launch(const config::server_config& a, const config::server_config& b) {
  return a.command == b.command && a.args == b.args && a.env == b.env && a.cwd == b.cwd &&
         a.url == b.url && a.transport == b.transport && a.headers == b.headers &&
         a.timeout == b.timeout && a.startup_timeout == b.startup_timeout &&
         a.isolation == b.isolation && a.oauth == b.oauth && a.exec == b.exec;
}

backend::backend(asio::any_io_executor executor, const config::config& cfg)
    : executor_(executor), config_(cfg), supervisor_(executor, cfg),
      // Startup plus the first lists, and a margin for process start-up.
      start_deadline_(std::chrono::steady_clock::now() + longest_startup(cfg) + milliseconds(500)) {
  load_policy();
  for (std::size_t i = 0; i < cfg.servers.size(); ++i) {
    listings_.push_back(listing_for(cfg.servers[i], nullptr));
    wire(cfg.servers[i].name, *supervisor_.all()[i], {});
  }
}

void backend::load_policy() {
  lock_ = nullptr;
  if (!config_.pinning.lock.empty()) {
    std::ifstream in(config_.pinning.lock, std::ios::binary);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    lock_ = protocol::parse_json(text).value;
    if (!in || lock_.is_discarded() || !lock_.is_object()) {
      spdlog::warn("pinning: cannot read {} (write it with `manifold pin`); nothing is pinned",
                   config_.pinning.lock);
      lock_ = json::object();
    }
  }
  overrides_.clear();
  for (const auto& o : config_.tools) {
    overrides_.push_back({o.exposed, o.name, o.title, o.description, o.annotations, o.arguments});
  }
}

std::size_t backend::index_of(std::string_view server) const {
  for (std::size_t i = 0; i < config_.servers.size(); ++i) {
    if (config_.servers[i].name == server) return i;
  }
  return std::string::npos;
}

// Sends what upstream `u` (server `index`, the instance of `owner`) says to the right place:
// list changes of shared instances to the catalog, the rest to the relay.
void backend::wire(const std::string& server, upstream::upstream& u, proxy::instance_owner owner) {
  u.on_notification([this, server, owner, self = &u](const protocol::message& msg) {
    const auto i = index_of(server);
    // A retired instance (replaced by a reload) has nobody left to tell.
    if (i == std::string::npos) return;
    if (owner.shared()) {
      if (supervisor_.all()[i].get() == self) on_notification(server, msg);
    } else if (relay_ != nullptr && msg.method().find("list_changed") == std::string_view::npos) {
      relay_->upstream_notification(server, msg, owner);
    }
  });
  u.on_request([this, name = server, owner](protocol::message msg)
                   -> asio::awaitable<protocol::rpc_reply> {
    if (relay_ == nullptr) {
      co_return protocol::rpc_reply::failure(protocol::error_code::method_not_found,
                                             "no host is connected");
    }
    co_return co_await relay_->upstream_request(name, std::move(msg), owner);
  });
}

namespace {

// An upstream instance of one host session, started on its first use with that host's
// capabilities (so the server sees exactly the client it serves).
class session_instance final : public protocol::rpc_peer {
 public:
  session_instance(std::shared_ptr<upstream::upstream> u, json capabilities)
      : upstream_(std::move(u)), capabilities_(std::move(capabilities)) {}

  asio::awaitable<protocol::rpc_reply> call(std::string method, json params,
                                            protocol::call_options options) override {
    if (!started_.is_set()) {
      if (!starting_) {
        starting_ = true;
        co_await upstream_->start(capabilities_);
        started_.set();
      } else {
        co_await started_.wait_until(std::chrono::steady_clock::now() + std::chrono::minutes(5));
      }
    }
    co_return co_await upstream_->call(std::move(method), std::move(params), std::move(options));
  }
  void notify(std::string method, json params) override {
    if (started_.is_set()) upstream_->notify(std::move(method), std::move(params));
  }
  [[nodiscard]] const std::shared_ptr<upstream::upstream>& instance() const { return upstream_; }

 private:
  std::shared_ptr<upstream::upstream> upstream_;
  json capabilities_;
  bool starting_ = false;
  io::event started_;
};

asio::awaitable<void> stop_instance(std::shared_ptr<protocol::rpc_peer> peer) {
  co_await static_cast<session_instance&>(*peer).instance()->stop(milliseconds(1800));
}

}  // namespace

void backend::release_session(std::uint64_t session) {
  for (auto it = instances_.begin(); it != instances_.end();) {
    it->second.users.erase(session);
    if (!it->second.users.empty()) {
      ++it;
      continue;
    }
    asio::co_spawn(executor_, stop_instance(it->second.peer), io::log_failure("stopping an isolated instance"));
    it = instances_.erase(it);
  }
}

asio::awaitable<void> backend::launch() { co_await supervisor_.launch_all(); }

asio::awaitable<void> backend::stop(milliseconds budget) {
  stopping_ = true;
  // Shared and per-session instances stop together, within one budget.
  std::vector<std::shared_ptr<upstream::upstream>> all = supervisor_.all();
  for (auto& [key, instance] : instances_) {
    all.push_back(static_cast<session_instance&>(*instance.peer).instance());
  }
  instances_.clear();
  co_await io::parallel_for_each(all, [budget](std::shared_ptr<upstream::upstream>& u) -> asio::awaitable<void> {
    co_await u->stop(budget);
  });
}

asio::awaitable<bool> backend::ensure_started(json client_capabilities,
                                              std::chrono::steady_clock::time_point deadline) {
  if (!started_) {
    started_ = true;
    asio::co_spawn(executor_, start(std::move(client_capabilities)), asio::detached);
  }
  co_return co_await ready_.wait_until(deadline);
}

asio::awaitable<void> backend::start(json client_capabilities) {
  start_capabilities_ = client_capabilities;
  co_await supervisor_.start_all(std::move(client_capabilities));
  std::vector<std::size_t> indices(listings_.size());
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  const auto upstreams = supervisor_.all();
  co_await io::parallel_for_each(indices, [this, &upstreams](std::size_t i) -> asio::awaitable<void> {
    co_await fetch(upstreams[i], listings_[i], all_kinds);
  });
  rebuild();
  ready_.set();
}

asio::awaitable<void> backend::reload_owned(std::unique_ptr<config::config> next) {
  if (!ready_.is_set() || stopping_) co_return;
  std::vector<std::shared_ptr<upstream::upstream>> upstreams;
  std::vector<ns::upstream_listing> listings;
  std::vector<std::size_t> fresh;  // positions of upstreams to start
  std::vector<std::shared_ptr<upstream::upstream>> retired;
  const auto current = supervisor_.all();
  for (const auto& server : next->servers) {
    const auto i = index_of(server.name);
    if (i != std::string::npos && same_launch(config_.servers[i], server)) {
      upstreams.push_back(current[i]);
      listings.push_back(listing_for(server, &listings_[i]));
      continue;
    }
    if (i != std::string::npos) retired.push_back(current[i]);
    auto u = supervisor_.spawn(server);
    wire(server.name, *u, {});
    fresh.push_back(upstreams.size());
    upstreams.push_back(std::move(u));
    listings.push_back(listing_for(server, nullptr));
  }
  for (std::size_t i = 0; i < config_.servers.size(); ++i) {
    bool kept = false;
    for (const auto& server : next->servers) kept = kept || server.name == config_.servers[i].name;
    if (!kept) retired.push_back(current[i]);
  }
  spdlog::info("reload: {} upstream{} to start, {} to retire", fresh.size(),
               fresh.size() == 1 ? "" : "s", retired.size());
  co_await io::parallel_for_each(fresh, [&](std::size_t j) -> asio::awaitable<void> {
    if (co_await upstreams[j]->start(start_capabilities_)) {
      co_await fetch(upstreams[j], listings[j], all_kinds);
    }
  });
  if (stopping_) co_return;
  config_ = std::move(*next);
  supervisor_.replace(std::move(upstreams));
  listings_ = std::move(listings);
  load_policy();
  rebuild();
  spdlog::info("reload: done; catalog has {} tools", catalog_->tools().size());
  // Retired upstreams finish the calls they have, within their deadline, then stop.
  co_await io::parallel_for_each(retired, [](std::shared_ptr<upstream::upstream>& u) -> asio::awaitable<void> {
    co_await u->drain();
    co_await u->stop(milliseconds(1800));
  });
}

asio::awaitable<void> backend::fetch(std::shared_ptr<upstream::upstream> u, ns::upstream_listing& listing,
                                     std::set<ns::entry_kind> kinds) {
  for (const auto& spec : list_specs) {
    if (kinds.count(spec.kind) == 0) continue;
    auto& items = items_of(listing, spec.kind);
    if (u->state() != upstream::upstream_state::ready ||
        !u->info().capabilities.contains(json::json_pointer(spec.capability))) {
      items.clear();
      continue;
    }
    auto listed = co_await u->list_all(spec.method, spec.key);
    if (listed.error) {
      // resources/templates/list is optional for a resources server.
      const bool optional = spec.kind == ns::entry_kind::resource_template &&
                            listed.error->code == protocol::error_code::method_not_found;
      if (!optional && u->state() == upstream::upstream_state::ready) {
        spdlog::error("[{}] {} failed: {}; those entries are left out", u->name(), spec.method,
                      protocol::log_safe(listed.error->message));
      }
      items.clear();
      continue;
    }
    items = std::move(listed.items);
  }
}

void backend::on_notification(const std::string& server, const protocol::message& msg) {
  const auto method = msg.method();
  std::set<ns::entry_kind> kinds;
  if (method == "notifications/tools/list_changed") {
    kinds = {ns::entry_kind::tool};
  } else if (method == "notifications/prompts/list_changed") {
    kinds = {ns::entry_kind::prompt};
  } else if (method == "notifications/resources/list_changed") {
    kinds = {ns::entry_kind::resource, ns::entry_kind::resource_template};
  } else {
    if (relay_ != nullptr) relay_->upstream_notification(server, msg, {});
    return;
  }
  spdlog::debug("[{}] {}", server, method);
  pending_refresh_[server].insert(kinds.begin(), kinds.end());
  if (refreshing_.count(server) == 0) asio::co_spawn(executor_, refresh(server), asio::detached);
}

asio::awaitable<void> backend::refresh(std::string server) {
  refreshing_.insert(server);
  // Changes announced during start-up are picked up once the first catalog exists.
  co_await ready_.wait_until(start_deadline_);
  while (!pending_refresh_[server].empty() && !stopping_) {
    auto kinds = std::exchange(pending_refresh_[server], {});
    const auto i = index_of(server);
    if (i == std::string::npos) break;
    // The listing is fetched into a copy: a reload may replace listings_ meanwhile.
    auto listing = listings_[i];
    const auto u = supervisor_.all()[i];
    co_await fetch(u, listing, kinds);
    const auto j = index_of(server);
    if (j == std::string::npos || supervisor_.all()[j] != u) break;
    listings_[j] = listing_for(config_.servers[j], &listing);
    rebuild();
  }
  refreshing_.erase(server);
}

void backend::rebuild() {
  if (stopping_) return;
  const auto naming = naming_options(config_.naming);
  auto next = std::make_shared<ns::catalog>(ns::build_catalog(listings_, naming, generation_ + 1, overrides_));
  if (!lock_.is_null()) {
    const auto changed = changed_pins(*next, lock_);
    for (const auto& [name, why] : changed) {
      spdlog::warn("{}: {}{}", protocol::log_safe(name, 200), why, config_.pinning.hide ? "; hidden" : "");
    }
    if (config_.pinning.hide && !changed.empty()) {
      next = std::make_shared<ns::catalog>(
          ns::build_catalog(listings_, naming, generation_ + 1, overrides_, changed));
    }
  }
  std::vector<ns::entry_kind> changed;
  for (const auto kind : all_kinds) {
    if (ns::fingerprint(*next, kind) != ns::fingerprint(*catalog_, kind)) changed.push_back(kind);
  }
  if (changed.empty() && ready_.is_set()) return;  // nothing a host would see changed
  for (const auto& c : next->collisions()) {
    if (next->refused()) {
      spdlog::error("name collision on {} {}: [{}] {} and [{}] {}", ns::to_string(c.kind),
                    protocol::log_safe(c.exposed_name, 200), c.kept_server, protocol::log_safe(c.kept_original, 200),
                    c.dropped_server, protocol::log_safe(c.dropped_original, 200));
    } else {
      spdlog::warn("name collision on {} {}: [{}] {} keeps it, [{}] {} is left out ({})",
                   ns::to_string(c.kind), protocol::log_safe(c.exposed_name, 200), c.kept_server,
                   protocol::log_safe(c.kept_original, 200), c.dropped_server,
                   protocol::log_safe(c.dropped_original, 200), c.rule);
    }
  }
  if (next->refused()) {
    // naming.on_collision: error. A first catalog is refused outright; a later one leaves
    // the current catalog in place.
    spdlog::error("naming.on_collision is `error`: {} collision{}; {}", next->collisions().size(),
                  next->collisions().size() == 1 ? "" : "s",
                  ready_.is_set() ? "keeping the previous catalog" : "refusing to serve");
    if (!ready_.is_set()) {
      refused_ = true;
      if (on_refused_) on_refused_();
    }
    return;
  }
  if (config_.naming.tool_cap > 0 && next->tools().size() > config_.naming.tool_cap) {
    spdlog::warn("{} tools exposed; the `{}` profile handles at most {} well (narrow with tools.allow/deny)",
                 next->tools().size(), config_.naming.profile, config_.naming.tool_cap);
  }
  for (const auto& r : next->rejected()) spdlog::warn("[{}] {}", r.server, protocol::log_safe(r.reason));
  for (const auto& o : next->unmatched_overrides()) {
    spdlog::warn("tools.{} in the config names no exposed tool; the override does nothing", o);
  }
  spdlog::info("catalog built: {} tools, {} prompts, {} resources, {} resource templates from {} "
               "upstreams",
               next->tools().size(), next->prompts().size(), next->resources().size(),
               next->resource_templates().size(), listings_.size());
  generation_ = next->generation();
  catalog_ = std::move(next);
  if (relay_ != nullptr) relay_->catalog_changed();
}

protocol::rpc_peer* backend::peer(std::string_view server, std::uint64_t session,
                                  const json& session_capabilities, std::string_view principal) {
  for (std::size_t i = 0; i < config_.servers.size(); ++i) {
    const auto& cfg = config_.servers[i];
    if (cfg.name != server) continue;
    if (session == 0 || cfg.isolation == config::isolation_mode::shared) return supervisor_.all()[i].get();
    proxy::instance_owner owner;
    if (cfg.isolation == config::isolation_mode::session) {
      owner.session = session;
    } else {
      owner.principal = std::string(principal);
    }
    auto& slot = instances_[{cfg.name, owner.session, owner.principal}];
    if (!slot.peer) {
      std::function<std::string()> subject;
      if (cfg.oauth.grant == config::oauth_grant::token_exchange && subject_tokens_) {
        subject = [source = subject_tokens_, who = owner.principal] { return source(who); };
      }
      auto instance = supervisor_.spawn(cfg, std::move(subject));
      wire(cfg.name, *instance, owner);
      slot.peer = std::make_shared<session_instance>(std::move(instance), session_capabilities);
    }
    slot.users.insert(session);
    return slot.peer.get();
  }
  return nullptr;
}

std::vector<std::string> backend::upstreams_with(std::string_view capability) const {
  std::vector<std::string> out;
  for (const auto& u : supervisor_.all()) {
    if (u->state() != upstream::upstream_state::ready) continue;
    if (!capability.empty() &&
        !u->info().capabilities.contains(json::json_pointer(std::string(capability)))) {
      continue;
    }
    out.push_back(u->name());
  }
  return out;
}

json backend::status() const {
  json upstreams = json::array();
  for (const auto& u : supervisor_.all()) {
    json entry{{"name", u->name()}, {"state", upstream::to_string(u->state())}};
    if (!u->problem().empty()) entry["problem"] = u->problem();
    if (!u->info().protocol_version.empty()) entry["protocolVersion"] = u->info().protocol_version;
    upstreams.push_back(std::move(entry));
  }
  return {{"ready", ready_.is_set()},
          {"tools", catalog_->tools().size()},
          {"prompts", catalog_->prompts().size()},
          {"resources", catalog_->resources().size()},
          {"upstreams", std::move(upstreams)}};
}

json backend::server_capabilities() const {
  const auto any = [this](const char* pointer) { return !upstreams_with(pointer).empty(); };
  json caps{{"tools", {{"listChanged", true}}}};
  if (any("/prompts")) caps["prompts"] = {{"listChanged", true}};
  if (any("/resources")) {
    caps["resources"] = {{"listChanged", true}};
    for (const auto& u : supervisor_.all()) {
      if (u->state() == upstream::upstream_state::ready &&
          u->info().capabilities.value(json::json_pointer("/resources/subscribe"), false)) {
        caps["resources"]["subscribe"] = true;
      }
    }
  }
  if (any("/completions")) caps["completions"] = json::object();
  if (any("/logging")) caps["logging"] = json::object();
  if (any("/tasks")) {
    json tasks = json::object();
    if (any("/tasks/list")) tasks["list"] = json::object();
    if (any("/tasks/cancel")) tasks["cancel"] = json::object();
    if (any("/tasks/requests/tools/call")) tasks["requests"] = {{"tools", {{"call", json::object()}}}};
    caps["tasks"] = std::move(tasks);
  }
  return caps;
}

std::string backend::instructions() const {
  std::string out;
  for (std::size_t i = 0; i < config_.servers.size(); ++i) {
    const auto& u = supervisor_.all()[i];
    if (u->state() != upstream::upstream_state::ready || u->info().instructions.empty()) continue;
    if (!out.empty()) out += "\n\n";
    out += "## " + config_.servers[i].namespace_ + "\n" + u->info().instructions;
  }
  return out;
}

}  // namespace manifold::gateway
