#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>

#include "manifold/config/config.hpp"
#include "manifold/io/event.hpp"
#include "manifold/namespace/catalog.hpp"
#include "manifold/proxy/backend.hpp"
#include "manifold/upstream/supervisor.hpp"

namespace manifold::app {

// The composition root's glue: the upstreams (supervisor) on one side, the catalog the
// proxy serves on the other. Builds a new immutable catalog from the upstreams' lists and
// swaps it in. Thread: the io thread.
class gateway final : public proxy::backend {
 public:
  gateway(boost::asio::any_io_executor executor, const config::config& cfg);

  // Starts every upstream, lists their tools, builds the first catalog; then ready.
  boost::asio::awaitable<void> start();
  boost::asio::awaitable<void> stop(std::chrono::milliseconds budget);

  [[nodiscard]] std::shared_ptr<const ns::catalog> snapshot() const override { return catalog_; }
  [[nodiscard]] protocol::rpc_peer* peer(std::string_view server) override;
  boost::asio::awaitable<bool> wait_ready(std::chrono::steady_clock::time_point deadline) override;
  [[nodiscard]] std::chrono::steady_clock::time_point ready_deadline() const override {
    return ready_deadline_;
  }

  [[nodiscard]] const upstream::supervisor& upstreams() const { return supervisor_; }

 private:
  boost::asio::awaitable<void> rebuild();

  const config::config& config_;
  upstream::supervisor supervisor_;
  std::shared_ptr<const ns::catalog> catalog_ = std::make_shared<ns::catalog>();
  io::event ready_;
  std::chrono::steady_clock::time_point ready_deadline_;
};

}  // namespace manifold::app
