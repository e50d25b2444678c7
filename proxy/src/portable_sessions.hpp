#pragma once

// Private to proxy/: Streamable HTTP sessions that any replica can serve (http.sessions).
// A session's state is sealed into its Mcp-Session-Id under the key ring; a replica that
// receives an id it does not hold opens it and continues the session. This class holds the
// ring, seals and opens, remembers the sessions ended here, and routes hosts' answers to the
// replica whose request they answer. Thread: the io thread.

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "ended_sessions.hpp"
#include "manifold/proxy/host_session.hpp"
#include "manifold/proxy/key_ring.hpp"
#include "sealed_session.hpp"

namespace manifold::proxy {

class portable_sessions {
 public:
  struct options {
    std::chrono::seconds max_lifetime{std::chrono::hours(24)};
    std::size_t ended_capacity = 10000;
    std::string advertise;  // this replica's base URL for the others; empty: answers stay local
  };

  portable_sessions(options opts, std::string instance);

  // A new ring from now on (null: off; ids are random and sessions stay in this process).
  void set_keys(std::shared_ptr<const key_ring> keys);
  [[nodiscard]] bool enabled() const { return keys_ != nullptr; }
  [[nodiscard]] const std::string& instance() const { return instance_; }
  [[nodiscard]] const std::string& advertise() const { return options_.advertise; }

  // The sealed state of a session just initialized, valid for max_lifetime from now.
  [[nodiscard]] sealed_session fresh(std::string sid, std::string principal, std::string group,
                                     host_session_state state) const;
  static void update(sealed_session& sealed, host_session_state state);
  // Its token; empty when it cannot be sealed (too large even trimmed: logged).
  [[nodiscard]] std::string seal(const sealed_session& state) const;
  // Whether a token sealed by `key_id` should be sealed again (the ring seals with another).
  [[nodiscard]] bool stale_key(const std::string& key_id) const;
  [[nodiscard]] std::string sealing_key() const { return keys_ ? keys_->sealing_key() : std::string(); }

  // Opens an id: its state, unless it does not open, has expired or was ended here.
  struct lookup {
    std::optional<sealed_session> state;
    std::string key_id;
    std::string problem;  // for the log
    bool expired = false;
    bool ended = false;
  };
  [[nodiscard]] lookup open(std::string_view token) const;
  void ended(const sealed_session& state);
  // The notice telling the other replicas (http.sessions.peers) that `state` ended; empty
  // when sealing is off.
  [[nodiscard]] std::string ended_notice_for(const sealed_session& state) const;
  // A notice from another replica: the sid it names, now remembered as ended; nullopt when
  // it does not open with the ring.
  std::optional<std::string> ended_by_notice(std::string_view token);

  // The prefix of ids of requests to hosts (empty: not routed: off, or no advertise URL).
  [[nodiscard]] const std::string& route_prefix() const { return route_prefix_; }
  // Where a host's answer with `id` belongs; nullopt when the id is not a routed one.
  [[nodiscard]] std::optional<reply_route> route_of(const protocol::json& id) const;
  // Whether `route` names this process.
  [[nodiscard]] bool local(const reply_route& route) const {
    return route.instance == instance_ && route.address == options_.advertise;
  }

  [[nodiscard]] static std::int64_t now();

 private:
  options options_;
  std::string instance_;
  std::shared_ptr<const key_ring> keys_;
  std::string route_prefix_;
  mutable ended_sessions ended_;
};

}  // namespace manifold::proxy
