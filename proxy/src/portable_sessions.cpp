#include "portable_sessions.hpp"

#include <spdlog/spdlog.h>

namespace manifold::proxy {

portable_sessions::portable_sessions(options opts, std::string instance)
    : options_(std::move(opts)), instance_(std::move(instance)), ended_(options_.ended_capacity) {}

void portable_sessions::set_keys(std::shared_ptr<const key_ring> keys) {
  keys_ = std::move(keys);
  route_prefix_.clear();
  if (keys_ && !options_.advertise.empty()) route_prefix_ = proxy::route_prefix(*keys_, options_.advertise, instance_);
}

std::int64_t portable_sessions::now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

sealed_session portable_sessions::fresh(std::string sid, std::string principal, std::string group,
                                        host_session_state state) const {
  sealed_session out;
  out.sid = std::move(sid);
  out.principal = std::move(principal);
  out.group = std::move(group);
  out.created = now();
  out.expires = out.created + options_.max_lifetime.count();
  update(out, std::move(state));
  return out;
}

void portable_sessions::update(sealed_session& sealed, host_session_state state) {
  sealed.protocol_version = std::move(state.protocol_version);
  sealed.client_capabilities = std::move(state.client_capabilities);
  sealed.client_info = std::move(state.client_info);
  sealed.log_level = std::move(state.log_level);
  sealed.subscriptions = std::move(state.subscriptions);
}

std::string portable_sessions::seal(const sealed_session& state) const {
  if (!keys_) return {};
  bool trimmed = false;
  auto token = seal_session(*keys_, state, &trimmed);
  if (token.empty()) {
    spdlog::warn("http: session {}: its state does not fit in an id of {} bytes; it stays on this replica",
                 state.sid, max_session_token);
  } else if (trimmed) {
    spdlog::info("http: session {}: clientInfo details{} left out of its id (size)", state.sid,
                 state.subscriptions.empty() ? "" : " and perhaps subscriptions");
  }
  return token;
}

bool portable_sessions::stale_key(const std::string& key_id) const {
  return keys_ && key_id != keys_->sealing_key();
}

portable_sessions::lookup portable_sessions::open(std::string_view token) const {
  lookup out;
  if (!keys_) {
    out.problem = "no session keys";
    return out;
  }
  auto opened = open_session_token(*keys_, token, now());
  out.key_id = std::move(opened.key_id);
  out.expired = opened.expired;
  out.problem = std::move(opened.problem);
  if (opened.state && ended_.contains(opened.state->sid)) {
    out.ended = true;
    out.problem = "ended on this replica";
    return out;
  }
  out.state = std::move(opened.state);
  return out;
}

void portable_sessions::ended(const sealed_session& state) { ended_.add(state.sid, state.expires, now()); }

std::string portable_sessions::ended_notice_for(const sealed_session& state) const {
  if (!keys_) return {};
  return seal_ended_notice(*keys_, {state.sid, state.expires});
}

std::optional<std::string> portable_sessions::ended_by_notice(std::string_view token) {
  if (!keys_) return std::nullopt;
  auto notice = open_ended_notice(*keys_, token);
  if (!notice) return std::nullopt;
  ended_.add(notice->sid, notice->expires, now());
  return std::move(notice->sid);
}

std::optional<reply_route> portable_sessions::route_of(const protocol::json& id) const {
  if (!keys_ || !id.is_string()) return std::nullopt;
  return open_route(*keys_, id.get_ref<const std::string&>());
}

}  // namespace manifold::proxy
