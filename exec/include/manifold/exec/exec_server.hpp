#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "manifold/config/config.hpp"
#include "manifold/protocol/channel.hpp"

namespace manifold::exec {

// A declared tool the start-up self-check left out of tools/list, and why.
struct hidden_tool {
  std::string tool;
  std::string reason;
};

// An in-process MCP server for one `exec:` server config. It answers initialize, ping,
// tools/list and tools/call, honours notifications/cancelled (the run's process group is
// stopped), and sends notifications/progress for streaming tools, all over `link` (the
// server end of io::make_channel_pair()).
//
// The self-check (binary digests, version range, each tool's `check:`) runs once, before
// the first initialize is answered. Tools it hides are absent from tools/list; they and
// the reasons are in hidden(), and in the initialize result as
//   _meta["manifold/exec"] = {"hidden": [{"tool", "reason"}], "version": "1.32.4"}
// Thread: the executor's (one thread); no locks.
class exec_server {
 public:
  exec_server() = default;
  exec_server(const exec_server&) = delete;
  exec_server& operator=(const exec_server&) = delete;
  virtual ~exec_server() = default;

  // Serves until the link closes or stop() is called; then stops every run in flight.
  virtual boost::asio::awaitable<void> run() = 0;
  // Stops serving: runs in flight are cancelled (their process groups stopped) and the link
  // is closed. Idempotent.
  virtual void stop() = 0;
  [[nodiscard]] virtual std::vector<hidden_tool> hidden() const = 0;
  // Runs in flight now.
  [[nodiscard]] virtual std::size_t running() const = 0;
};

std::shared_ptr<exec_server> make_exec_server(boost::asio::any_io_executor executor,
                                              const config::server_config& server,
                                              std::shared_ptr<protocol::channel> link);

}  // namespace manifold::exec
