#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/config/config.hpp"
#include "manifold/upstream/supervised_upstream.hpp"

namespace manifold::upstream {

// Owns every upstream of one config: starts them in parallel, finds them by name, and stops
// them all within a shared budget. Each is supervised (supervised_upstream.hpp): restarted
// with backoff when it crashes or fails its health probes; one that cannot start is retried
// in the background while the others serve. Thread: the executor's.
class supervisor {
 public:
  supervisor(boost::asio::any_io_executor executor, const config::config& cfg);
  supervisor(const supervisor&) = delete;
  supervisor& operator=(const supervisor&) = delete;
  ~supervisor();

  // Starts every child process now, before the handshake (see upstream::launch).
  boost::asio::awaitable<void> launch_all();
  // Starts all upstreams concurrently, declaring `client_capabilities` to each; each is
  // bounded by its own startup_timeout.
  boost::asio::awaitable<void> start_all(json client_capabilities);
  // Stops all concurrently; children get stdin EOF, SIGTERM, then SIGKILL within `budget`.
  boost::asio::awaitable<void> stop_all(std::chrono::milliseconds budget);

  [[nodiscard]] std::shared_ptr<supervised_upstream> find(std::string_view server) const;
  // A new, unstarted instance of `server` (per-session isolation, reload); the caller owns
  // it and stops it.
  // `subject_token`: the caller's current token, for an instance that exchanges it
  // (oauth.grant: token_exchange).
  [[nodiscard]] std::shared_ptr<supervised_upstream> spawn(const config::server_config& server,
                                                           std::function<std::string()> subject_token = {}) const;
  // The set changes (config reload): `next` in the new config order.
  void replace(std::vector<std::shared_ptr<supervised_upstream>> next) { upstreams_ = std::move(next); }
  // In config order.
  [[nodiscard]] const std::vector<std::shared_ptr<supervised_upstream>>& all() const { return upstreams_; }

 private:
  boost::asio::any_io_executor executor_;
  config::limits_config limits_;
  std::vector<std::shared_ptr<supervised_upstream>> upstreams_;
};

}  // namespace manifold::upstream
