#include "manifold/gateway/gateway.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include <cmath>
#include <ctime>
#include <fstream>

#include "manifold/gateway/pinning.hpp"
#include "manifold/io/parallel.hpp"
#include "manifold/io/spawn.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/extensions.hpp"
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
void backend::wire(const std::string& server, upstream::supervised_upstream& u, proxy::instance_owner owner) {
  watch_traffic(server, u);
  u.set_policy([this, server](std::string_view method, const json& params) { return policy_for(server, method, params); });
  apply_faults(u);
  if (owner.shared()) {
    u.on_state([this, server, self = &u](upstream::upstream_state previous, upstream::upstream_state next) {
      const auto i = index_of(server);
      if (i != std::string::npos && supervisor_.all()[i].get() == self) upstream_changed(server, previous, next);
    });
  }
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

void backend::observe(const observe::telemetry* t) {
  telemetry_ = t;
  for (std::size_t i = 0; i < config_.servers.size() && i < supervisor_.all().size(); ++i) {
    watch_traffic(config_.servers[i].name, *supervisor_.all()[i]);
  }
  if (ready_.is_set()) report_catalog();
}

void backend::watch_traffic(const std::string& server, upstream::supervised_upstream& u) {
  if (telemetry_ == nullptr || (telemetry_->metrics == nullptr && telemetry_->tap == nullptr)) return;
  auto* series = telemetry_->metrics != nullptr ? &telemetry_->metrics->upstream(server) : nullptr;
  if (series != nullptr) {
    u.on_probe([series](std::chrono::nanoseconds latency, bool answered) {
      if (answered) series->health_probe(latency);
    });
  }
  u.on_traffic([series, tap = telemetry_->tap, server](bool sent, const json& message, std::size_t bytes,
                                                      std::string_view tag, std::string_view answers) {
    if (series != nullptr) {
      if (sent) {
        series->bytes_sent(bytes);
      } else {
        series->bytes_received(bytes);
      }
    }
    if (tap != nullptr && tap->active() && !message.is_null()) {
      tap->publish(sent ? observe::tap_direction::manifold_to_upstream : observe::tap_direction::upstream_to_manifold,
                   tag, server, message, answers);
    }
  });
}

void backend::report_catalog() {
  if (telemetry_ == nullptr) return;
  if (auto* m = telemetry_->metrics) {
    observe::catalog_counts counts;
    counts.tools = catalog_->tools().size();
    counts.prompts = catalog_->prompts().size();
    counts.resources = catalog_->resources().size();
    counts.resource_templates = catalog_->resource_templates().size();
    counts.hidden_by_policy = catalog_->filtered().size();
    counts.collisions = catalog_->collisions().size();
    m->catalog_rebuilt(counts);
    std::vector<std::string> names;
    names.reserve(catalog_->tools().size() + catalog_->prompts().size());
    for (const auto& t : catalog_->tools()) names.push_back(t.name);
    for (const auto& p : catalog_->prompts()) names.push_back(p.name);
    m->set_exposed_tools(names);
  }
  if (auto* feed = telemetry_->feed; feed != nullptr && feed->has_subscribers()) {
    feed->publish("catalog", json{{"rebuilds", generation_}}.dump());
  }
}

namespace {

// An upstream instance of one host session, started on its first use with that host's
// capabilities (so the server sees exactly the client it serves).
class session_instance final : public protocol::rpc_peer {
 public:
  session_instance(std::shared_ptr<upstream::supervised_upstream> u, json capabilities)
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
  [[nodiscard]] const std::shared_ptr<upstream::supervised_upstream>& instance() const { return upstream_; }

 private:
  std::shared_ptr<upstream::supervised_upstream> upstream_;
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
  std::vector<std::shared_ptr<upstream::supervised_upstream>> all = supervisor_.all();
  for (auto& [key, instance] : instances_) {
    all.push_back(static_cast<session_instance&>(*instance.peer).instance());
  }
  instances_.clear();
  co_await io::parallel_for_each(all, [budget](std::shared_ptr<upstream::supervised_upstream>& u) -> asio::awaitable<void> {
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
  start_capabilities_ = protocol::relayed_capabilities(std::move(client_capabilities));
  const auto upstreams = supervisor_.all();
  starting_ = upstreams.size();
  for (const auto& u : upstreams) initial_pending_.insert(u->name());
  if (starting_ == 0) all_started_.set();
  for (const auto& u : upstreams) asio::co_spawn(executor_, start_one(u), io::log_failure("starting an upstream"));
  // One upstream never holds the host up: its initialize is answered after the grace period
  // with what is ready (reports wait for everyone, within the start-up deadline).
  auto deadline = start_deadline_;
  if (!wait_for_all_) deadline = std::min(deadline, std::chrono::steady_clock::now() + config_.lifecycle.initialize_grace);
  co_await all_started_.wait_until(deadline);
  if (!all_started_.is_set() && !stopping_) {
    std::string late;
    for (const auto& name : initial_pending_) late += (late.empty() ? "" : ", ") + name;
    spdlog::warn("{} upstream{} still starting after {} ms (lifecycle.initialize_grace): {}; serving the others, "
                 "they join the catalog when ready",
                 initial_pending_.size(), initial_pending_.size() == 1 ? " is" : "s are",
                 std::chrono::duration_cast<milliseconds>(config_.lifecycle.initialize_grace).count(), late);
  }
  rebuild();
  ready_.set();
}

asio::awaitable<void> backend::start_one(std::shared_ptr<upstream::supervised_upstream> u) {
  const auto name = u->name();
  if (co_await u->start(start_capabilities_)) {
    const auto i = index_of(name);
    if (i != std::string::npos && supervisor_.all()[i] == u) {
      // Fetched into a copy: a reload may replace listings_ meanwhile.
      auto listing = listings_[i];
      co_await fetch(u, listing, all_kinds);
      const auto j = index_of(name);
      if (j != std::string::npos && supervisor_.all()[j] == u) {
        listings_[j] = listing_for(config_.servers[j], &listing);
        const auto state = u->state();
        const bool down = state == upstream::upstream_state::backing_off || state == upstream::upstream_state::failed;
        if (down && config_.servers[j].supervision.on_down == config::down_mode::hide) {
          listings_[j] = listing_for(config_.servers[j], nullptr);
        }
      }
      if (u->settings().supervision.start == config::start_mode::lazy) {
        std::string why = "start: lazy; its lists are known, it starts again at the first call";
        co_await u->park(std::move(why));
      }
    }
  }
  initial_pending_.erase(name);
  if (ready_.is_set() && !stopping_) rebuild();  // a late upstream joins: hosts hear list_changed
  if (--starting_ == 0) all_started_.set();
}

void backend::upstream_changed(const std::string& server, upstream::upstream_state previous,
                               upstream::upstream_state next) {
  using upstream::upstream_state;
  if (telemetry_ != nullptr && telemetry_->status_changed) telemetry_->status_changed();
  if (stopping_ || refused_ || initial_pending_.count(server) != 0) return;
  if (upstream::is_serving(next)) {
    if (!upstream::is_serving(previous)) request_refresh(server, all_kinds);  // back: refetch
    return;
  }
  if (next != upstream_state::backing_off && next != upstream_state::failed) return;  // idle keeps its entries
  const auto i = index_of(server);
  if (i == std::string::npos || config_.servers[i].supervision.on_down != config::down_mode::hide) return;
  auto& l = listings_[i];
  if (l.tools.empty() && l.prompts.empty() && l.resources.empty() && l.resource_templates.empty()) return;
  spdlog::info("[{}] down: its entries are withdrawn until it is back (on_down: hide)", server);
  listings_[i] = listing_for(config_.servers[i], nullptr);
  if (ready_.is_set()) rebuild();
}

asio::awaitable<void> backend::reload_owned(std::unique_ptr<config::config> next) {
  if (!ready_.is_set() || stopping_) co_return;
  std::vector<std::shared_ptr<upstream::supervised_upstream>> upstreams;
  std::vector<ns::upstream_listing> listings;
  std::vector<std::size_t> fresh;  // positions of upstreams to start
  std::vector<std::shared_ptr<upstream::supervised_upstream>> retired;
  const auto current = supervisor_.all();
  for (const auto& server : next->servers) {
    const auto i = index_of(server.name);
    if (i != std::string::npos && same_launch(config_.servers[i], server)) {
      current[i]->reconfigure(server.supervision);
      upstreams.push_back(current[i]);
      listings.push_back(listing_for(server, &listings_[i]));
      continue;
    }
    if (i != std::string::npos) {
      retired.push_back(current[i]);
      // Relaunched with its new settings: a restart.
      if (telemetry_ != nullptr && telemetry_->metrics != nullptr) telemetry_->metrics->upstream(server.name).restarted();
    }
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
      if (upstreams[j]->settings().supervision.start == config::start_mode::lazy) {
        std::string why = "start: lazy; its lists are known, it starts again at the first call";
        co_await upstreams[j]->park(std::move(why));
      }
    }
  });
  if (stopping_) co_return;
  config_ = std::move(*next);
  supervisor_.replace(std::move(upstreams));
  listings_ = std::move(listings);
  load_policy();
  for (const auto& u : supervisor_.all()) {
    apply_faults(*u);
    u->retry_now();  // a reload is what brings a crash-looping (failed) upstream back
  }
  rebuild();
  spdlog::info("reload: done; catalog has {} tools", catalog_->tools().size());
  // Retired upstreams finish the calls they have, within their deadline, then stop.
  co_await io::parallel_for_each(retired, [](std::shared_ptr<upstream::supervised_upstream>& u) -> asio::awaitable<void> {
    co_await u->drain();
    co_await u->stop(milliseconds(1800));
  });
}

asio::awaitable<void> backend::fetch(std::shared_ptr<upstream::supervised_upstream> u, ns::upstream_listing& listing,
                                     std::set<ns::entry_kind> kinds) {
  for (const auto& spec : list_specs) {
    if (kinds.count(spec.kind) == 0) continue;
    auto& items = items_of(listing, spec.kind);
    if (!upstream::is_serving(u->state()) ||
        !u->info().capabilities.contains(json::json_pointer(spec.capability))) {
      items.clear();
      continue;
    }
    auto listed = co_await u->list_all(spec.method, spec.key);
    if (listed.error) {
      // resources/templates/list is optional for a resources server.
      const bool optional = spec.kind == ns::entry_kind::resource_template &&
                            listed.error->code == protocol::error_code::method_not_found;
      if (!optional && upstream::is_serving(u->state())) {
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
  request_refresh(server, kinds);
}

void backend::request_refresh(const std::string& server, const std::set<ns::entry_kind>& kinds) {
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
  update_policies(*next);
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
  // (While an upstream is down its tools are missing on purpose: no false alarm then.)
  const bool all_up = std::all_of(supervisor_.all().begin(), supervisor_.all().end(), [](const auto& u) {
    const auto s = u->state();
    return s != upstream::upstream_state::backing_off && s != upstream::upstream_state::failed;
  });
  for (const auto& o : all_up ? next->unmatched_overrides() : std::vector<std::string>{}) {
    spdlog::warn("tools.{} in the config names no exposed tool; the override does nothing", o);
  }
  spdlog::info("catalog built: {} tools, {} prompts, {} resources, {} resource templates from {} "
               "upstreams",
               next->tools().size(), next->prompts().size(), next->resources().size(),
               next->resource_templates().size(), listings_.size());
  generation_ = next->generation();
  catalog_ = std::move(next);
  report_catalog();
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
      slot.peer = std::make_shared<session_instance>(std::move(instance),
                                                     protocol::relayed_capabilities(session_capabilities));
    }
    slot.users.insert(session);
    return slot.peer.get();
  }
  return nullptr;
}

std::vector<std::string> backend::upstreams_with(std::string_view capability) const {
  std::vector<std::string> out;
  for (const auto& u : supervisor_.all()) {
    if (!upstream::is_serving(u->state())) continue;
    if (!capability.empty() &&
        !u->info().capabilities.contains(json::json_pointer(std::string(capability)))) {
      continue;
    }
    out.push_back(u->name());
  }
  return out;
}

void backend::update_policies(const ns::catalog& next) {
  policies_.clear();
  for (const auto& t : next.tools()) {
    auto& p = policies_[t.server][t.original];
    if (const auto* annotations = protocol::object_member(t.definition, "annotations")) {
      p.retry = protocol::bool_member(*annotations, "readOnlyHint").value_or(false) ||
                protocol::bool_member(*annotations, "idempotentHint").value_or(false);
    }
  }
  for (const auto& o : config_.tools) {
    if (o.timeout.count() == 0 && !o.retry) continue;
    const auto* t = next.find_tool(o.name.empty() ? o.exposed : o.name);
    if (t == nullptr) t = next.find_tool(o.exposed);
    if (t == nullptr) continue;
    auto& p = policies_[t->server][t->original];
    if (o.timeout.count() > 0) p.timeout = o.timeout;
    if (o.retry) p.retry = *o.retry;
  }
}

upstream::call_policy backend::policy_for(const std::string& server, std::string_view method,
                                          const json& params) const {
  upstream::call_policy out;
  if (method == "tools/call") {
    const auto name = protocol::string_member(params, "name");
    const auto s = policies_.find(server);
    if (!name || s == policies_.end()) return out;
    const auto t = s->second.find(*name);
    if (t != s->second.end()) out = t->second;
    return out;
  }
  // Reads are safe to send again.
  out.retry = method == "resources/read" || method == "prompts/get" || method == "completion/complete" ||
              (method.size() > 5 && method.substr(method.size() - 5) == "/list");
  return out;
}

void backend::apply_faults(upstream::supervised_upstream& u) const {
  std::vector<config::fault_rule> rules;
  for (const auto& rule : config_.faults) {
    if (upstream::glob_match(rule.server, u.name())) rules.push_back(rule);
  }
  u.set_faults(std::move(rules));
}

namespace {

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<milliseconds>(t.time_since_epoch()).count();
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm utc{};
  ::gmtime_r(&secs, &utc);
  std::array<char, 32> buf{};
  const auto n = std::strftime(buf.data(), buf.size(), "%Y-%m-%dT%H:%M:%S", &utc);
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03dZ", static_cast<int>(ms % 1000));
  return std::string(buf.data(), n) + frac;
}

std::string_view transport_of(const config::server_config& s) {
  if (s.exec) return "exec";
  if (!s.command.empty()) return "stdio";
  if (s.url.rfind("ws://", 0) == 0 || s.url.rfind("wss://", 0) == 0 || s.transport == config::transport_kind::websocket) {
    return "websocket";
  }
  if (s.transport == config::transport_kind::sse) return "sse";
  return "http";
}

}  // namespace

json backend::status() const {
  json upstreams = json::array();
  std::map<std::string, std::size_t, std::less<>> tools;
  for (const auto& t : catalog_->tools()) ++tools[t.server];
  const auto now = std::chrono::steady_clock::now();
  for (const auto& u : supervisor_.all()) {
    const auto s = u->supervision();
    const auto& cfg = u->settings();
    json entry{{"name", u->name()},
               {"state", upstream::to_string(u->state())},
               {"transport", transport_of(cfg)},
               {"start", cfg.supervision.start == config::start_mode::lazy ? "lazy" : "eager"},
               {"onDown", cfg.supervision.on_down == config::down_mode::hide ? "hide" : "error"},
               {"restarts", s.restarts},
               {"breaker", s.breaker},
               {"inFlight", s.in_flight},
               {"tools", tools.count(u->name()) != 0 ? tools.at(u->name()) : 0}};
    if (!u->problem().empty()) entry["problem"] = u->problem();
    if (!s.last_error.empty()) entry["lastError"] = s.last_error;
    if (s.last_success) entry["lastSuccess"] = rfc3339(*s.last_success);
    if (s.probe_latency_ms) entry["probeLatencyMs"] = std::round(*s.probe_latency_ms * 1000) / 1000;
    if (s.probe_failures > 0) entry["probeFailures"] = s.probe_failures;
    if (s.next_attempt) {
      entry["restartInMs"] = std::max<std::int64_t>(0, std::chrono::duration_cast<milliseconds>(*s.next_attempt - now).count());
    }
    if (cfg.supervision.idle_timeout.count() > 0) entry["idleTimeoutMs"] = cfg.supervision.idle_timeout.count();
    if (s.faults_injected > 0) entry["faultsInjected"] = s.faults_injected;
    if (s.retries > 0) entry["retries"] = s.retries;
    if (!u->info().protocol_version.empty()) entry["protocolVersion"] = u->info().protocol_version;
    // An exec server's self-check: the binary's version and the tools it hides, with why.
    if (const auto exec = u->info().meta.find("manifold/exec");
        exec != u->info().meta.end() && exec->is_object()) {
      if (const auto hidden = exec->find("hidden"); hidden != exec->end() && hidden->is_array() && !hidden->empty()) {
        entry["hidden"] = *hidden;
      }
      if (const auto version = exec->find("version"); version != exec->end() && version->is_string()) {
        entry["binaryVersion"] = *version;
      }
    }
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
      if (upstream::is_serving(u->state()) &&
          u->info().capabilities.value(json::json_pointer("/resources/subscribe"), false)) {
        caps["resources"]["subscribe"] = true;
      }
    }
  }
  for (const auto& u : supervisor_.all()) {
    if (upstream::is_serving(u->state())) protocol::merge_extensions(caps, u->info().capabilities);
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
    if (u->info().instructions.empty()) continue;
    if (!out.empty()) out += "\n\n";
    out += "## " + config_.servers[i].namespace_ + "\n" + u->info().instructions;
  }
  return out;
}

}  // namespace manifold::gateway
