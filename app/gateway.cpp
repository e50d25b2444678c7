#include "gateway.hpp"

#include <spdlog/spdlog.h>

#include "manifold/io/parallel.hpp"

namespace manifold::app {

namespace asio = boost::asio;
using std::chrono::milliseconds;

namespace {

milliseconds longest_startup(const config::config& cfg) {
  milliseconds out{0};
  for (const auto& s : cfg.servers) out = std::max(out, s.startup_timeout + s.timeout);
  return out;
}

}  // namespace

gateway::gateway(asio::any_io_executor executor, const config::config& cfg)
    : config_(cfg), supervisor_(std::move(executor), cfg),
      // Startup plus one tools/list per upstream, and a margin for process start-up.
      ready_deadline_(std::chrono::steady_clock::now() + longest_startup(cfg) + milliseconds(500)) {}

asio::awaitable<void> gateway::start() {
  co_await supervisor_.start_all();
  co_await rebuild();
  ready_.set();
}

asio::awaitable<void> gateway::stop(milliseconds budget) { co_await supervisor_.stop_all(budget); }

protocol::rpc_peer* gateway::peer(std::string_view server) { return supervisor_.find(server).get(); }

asio::awaitable<bool> gateway::wait_ready(std::chrono::steady_clock::time_point deadline) {
  co_return co_await ready_.wait_until(deadline);
}

asio::awaitable<void> gateway::rebuild() {
  const auto& upstreams = supervisor_.all();
  std::vector<ns::upstream_listing> listings(upstreams.size());
  for (std::size_t i = 0; i < upstreams.size(); ++i) {
    listings[i].server = upstreams[i]->name();
    listings[i].namespace_ = config_.servers[i].namespace_;
  }
  std::vector<std::size_t> indices(upstreams.size());
  for (std::size_t i = 0; i < indices.size(); ++i) indices[i] = i;
  co_await io::parallel_for_each(indices, [&](std::size_t i) -> asio::awaitable<void> {
    auto& u = upstreams[i];
    if (u->state() != upstream::upstream_state::ready) co_return;
    if (!u->info().capabilities.contains("tools")) co_return;
    auto tools = co_await u->list_all("tools/list", "tools");
    if (tools.error) {
      spdlog::error("[{}] tools/list failed: {}; its tools are left out", u->name(),
                    tools.error->message);
      co_return;
    }
    listings[i].tools = std::move(tools.items);
  });

  auto next = std::make_shared<ns::catalog>(
      ns::build_catalog(listings, ns::naming_options{config_.naming.separator}));
  for (const auto& c : next->collisions()) {
    spdlog::warn("name collision on {}: [{}] {} keeps it, [{}] {} is left out ({})",
                 c.exposed_name, c.kept_server, c.kept_original, c.dropped_server,
                 c.dropped_original, c.rule);
  }
  for (const auto& r : next->rejected()) spdlog::warn("[{}] {}", r.server, r.reason);
  spdlog::info("catalog built: {} tools from {} upstreams", next->tools().size(), listings.size());
  catalog_ = std::move(next);
}

}  // namespace manifold::app
