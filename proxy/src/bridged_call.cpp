#include "bridged_call.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "manifold/protocol/error_codes.hpp"
#include "manifold/protocol/json_access.hpp"
#include "relay_impl.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;
namespace error_code = protocol::error_code;
using protocol::json;
using protocol::rpc_reply;

namespace {

std::string_view kind_of(std::string_view method) {
  if (method == "elicitation/create") return "elicitation";
  if (method == "sampling/createMessage") return "sampling";
  return "roots";
}

// What the host is asked: the upstream's params without what belongs to the upstream's own
// hop (its progress token, a handshake-era elicitationId).
json for_host(json params) {
  if (!params.is_object()) return nullptr;
  params.erase("elicitationId");
  if (auto* meta = protocol::member(params, "_meta"); meta != nullptr && meta->is_object()) {
    meta->erase("progressToken");
    if (meta->empty()) params.erase("_meta");
  }
  return params;
}

// The answer a leg gets when the call ends without the host's.
rpc_reply unanswered(std::string_view method, const std::string& reason) {
  if (method == "elicitation/create") return rpc_reply{json{{"action", "cancel"}}, std::nullopt};
  return rpc_reply::failure(error_code::internal_error, reason);
}

std::int64_t unix_seconds_at(std::chrono::steady_clock::time_point when) {
  const auto left = when - std::chrono::steady_clock::now();
  const auto at = std::chrono::system_clock::now() + left;
  return std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count() + 1;
}

}  // namespace

json required_capability(std::string_view method, const json& params) {
  if (method == "sampling/createMessage") return {{"sampling", json::object()}};
  if (method == "roots/list") return {{"roots", json::object()}};
  if (method == "elicitation/create") {
    const bool url = protocol::string_or(params, "mode") == "url";
    return {{"elicitation", {{url ? "url" : "form", json::object()}}}};
  }
  return nullptr;
}

bool declares(const json& capabilities, const json& needed) {
  for (const auto& [name, detail] : needed.items()) {
    const auto* have = protocol::object_member(capabilities, name);
    if (have == nullptr) return false;
    if (name == "elicitation" && detail.contains("url") && protocol::member(*have, "url") == nullptr) return false;
    if (name == "elicitation" && detail.contains("form") && !have->empty() &&
        protocol::member(*have, "form") == nullptr) {
      return false;
    }
  }
  return true;
}

bridged_call::bridged_call(std::string id, std::uint64_t session, std::string principal, request_state sealed,
                           clock::time_point deadline, const bridge_limits& limits, std::function<void()> on_end)
    : id_(std::move(id)), session_(session), principal_(std::move(principal)), sealed_(std::move(sealed)),
      deadline_(deadline), limits_(limits), on_end_(std::move(on_end)), related_(related_prefix() + id_) {
  sealed_.call = id_;
}

void bridged_call::changed() {
  const auto woken = std::exchange(changed_, std::make_shared<io::event>());
  woken->set();
}

std::string bridged_call::key_for(std::string_view method, std::string preferred) {
  if (!preferred.empty() && preferred.size() <= max_preferred_key && legs_.find(preferred) == legs_.end()) {
    return preferred;
  }
  for (;;) {
    auto key = std::string(kind_of(method)) + "-" + std::to_string(next_key_++);
    if (legs_.find(key) == legs_.end()) return key;
  }
}

asio::awaitable<rpc_reply> bridged_call::ask(std::string method, json params, std::string preferred,
                                             std::shared_ptr<protocol::call_control> control) {
  if (ended_) co_return rpc_reply::failure(error_code::internal_error, "the host's call has ended");
  const auto needed = required_capability(method, params);
  if (!needed.is_null() && !declares(capabilities_, needed)) {
    // Not asked: the host's request did not declare what it needs (kept for -32021 when the
    // call asks the host nothing else).
    if (required_.is_null()) required_ = json::object();
    required_.update(needed);
    spdlog::info("bridged call {}: {} answered locally (the host's request does not declare `{}`)", id_, method,
                 needed.begin().key());
    if (method == "elicitation/create") co_return rpc_reply{json{{"action", "decline"}}, std::nullopt};
    co_return rpc_reply::failure(error_code::method_not_found,
                                 "the host's request does not declare the `" + needed.begin().key() +
                                     "` capability that " + method + " needs");
  }
  if (legs_.size() >= limits_.max_legs) {
    co_return rpc_reply::failure(error_code::limit_exceeded,
                                 "too many input requests open for one call (limit " +
                                     std::to_string(limits_.max_legs) + ")");
  }
  asked_any_ = true;
  const auto key = key_for(method, std::move(preferred));
  auto l = std::make_shared<leg>();
  l->method = method;
  l->params = for_host(std::move(params));
  legs_[key] = l;
  ++legs_seen_;
  if (control) {
    // The upstream gave up on its request (notifications/cancelled): it is not asked again.
    control->cancel = [weak = weak_from_this(), key, l](const std::string& reason) {
      if (l->reply) return;
      l->reply = rpc_reply::failure(error_code::request_timeout, reason);
      l->reply->cancelled = true;
      l->answered.set();
      if (auto self = weak.lock()) {
        if (const auto it = self->legs_.find(key); it != self->legs_.end() && it->second == l) self->legs_.erase(it);
      }
    };
  }
  changed();
  const auto keep = shared_from_this();
  if (!co_await l->answered.wait_until(deadline_)) abort("the host did not answer in time");
  if (control) control->cancel = nullptr;
  co_return std::move(*l->reply);
}

void bridged_call::notify(std::string_view method, json params) {
  if (!attached_ || !attached_->send || !params.is_object()) return;
  if (method == "notifications/progress") {
    if (attached_->progress_token.is_null()) return;
    const auto* progress = protocol::member(params, "progress");
    if (progress == nullptr || !progress->is_number()) return;
    const auto value = progress->get<double>();
    if (value <= last_progress_) return;  // a new request's stream hears only new progress
    last_progress_ = value;
    params["progressToken"] = attached_->progress_token;
    attached_->send(method, std::move(params));
  } else if (method == "notifications/message") {
    if (log_severity(protocol::string_or(params, "level")) < attached_->log_threshold) return;
    attached_->send(method, std::move(params));
  }
}

void bridged_call::finish(answer out) {
  driver_done_ = true;
  if (ended_) return;
  result_ = std::move(out);
  changed();
}

void bridged_call::deliver(const json& responses) {
  if (!responses.is_object()) return;  // nothing answered: every leg is asked again
  for (auto it = legs_.begin(); it != legs_.end();) {
    const auto* value = protocol::member(responses, it->first);
    if (value == nullptr || !value->is_object()) {
      ++it;  // missing or malformed: asked again
      continue;
    }
    auto result = *value;
    result.erase("resultType");
    it->second->reply = rpc_reply{std::move(result), std::nullopt};
    it->second->answered.set();
    it = legs_.erase(it);
  }
  changed();
}

void bridged_call::end(const std::string& reason) {
  if (ended_) return;
  ended_ = true;
  awaiting_retry_ = false;
  for (auto& [key, l] : legs_) {
    if (l->reply) continue;
    l->reply = unanswered(l->method, reason);
    l->answered.set();
  }
  legs_.clear();
  changed();
  if (auto done = std::exchange(on_end_, nullptr)) done();
}

void bridged_call::abort(const std::string& reason) {
  if (ended_) return;
  spdlog::info("bridged call {} ends: {}", id_, reason);
  abort_reason_ = reason;
  if (!driver_done_ && !upstream_->cancelled) {
    upstream_->cancelled = true;
    if (upstream_->cancel) upstream_->cancel(reason);
  }
  end(reason);
}

std::optional<answer> bridged_call::missing_capability() const {
  if (asked_any_ || required_.is_null() || required_.empty()) return std::nullopt;
  const auto what = required_.begin().key();
  return answer::fail({error_code::missing_client_capability,
                       "the server needs the client capability `" + what + "`, which this request does not declare",
                       json{{"requiredCapabilities", required_}}});
}

json bridged_call::input_required(const request_state_codec& codec) {
  ++round_;
  awaiting_retry_ = true;
  json requests = json::object();
  for (const auto& [key, l] : legs_) {
    json one{{"method", l->method}};
    if (l->params.is_object() && !l->params.empty()) one["params"] = l->params;
    else if (l->method != "roots/list") one["params"] = json::object();
    requests[key] = std::move(one);
  }
  auto state = sealed_;
  state.round = round_;
  state.expires = unix_seconds_at(deadline_);
  return {{"resultType", "input_required"}, {"inputRequests", std::move(requests)},
          {"requestState", codec.seal(state)}};
}

asio::awaitable<answer> bridged_call::serve(bridge_attachment host, std::shared_ptr<protocol::call_control> host_control,
                                            const request_state_codec& codec, std::function<bool()> may_wait) {
  if (ended_) co_return answer::fail({error_code::internal_error, "the call has ended", std::nullopt});
  const auto keep = shared_from_this();
  awaiting_retry_ = false;
  capabilities_ = host.capabilities;
  attached_ = std::move(host);
  if (host_control) {
    host_control->cancel = [weak = weak_from_this()](const std::string& reason) {
      if (auto self = weak.lock()) {
        self->host_cancelled_ = true;
        self->abort("the host cancelled its request: " + reason);
      }
    };
  }
  // Detaches the host request on every way out.
  struct detach {
    bridged_call& call;
    std::shared_ptr<protocol::call_control> control;
    ~detach() {
      call.attached_.reset();
      if (control) control->cancel = nullptr;
    }
  } detached{*this, host_control};
  for (;;) {
    if (ended_) {
      if (host_cancelled_) co_return answer{std::nullopt, std::nullopt, true};
      co_return answer::fail({error_code::internal_error, abort_reason_, std::nullopt});
    }
    if (result_) {
      auto out = missing_capability().value_or(std::move(*result_));
      end("the call completed");
      co_return out;
    }
    if (!legs_.empty()) {
      // Coalescing: more requests often follow at once (a tool asking several things
      // concurrently); they go to the host in one round.
      const auto start = clock::now();
      const auto hard = std::min(start + limits_.max_window, deadline_);
      auto until = std::min(start + limits_.window, hard);
      auto seen = legs_seen_;
      while (!ended_ && !result_) {
        const auto woken = changed_;
        if (!co_await woken->wait_until(until)) break;
        if (legs_seen_ != seen) {
          seen = legs_seen_;
          until = std::min(clock::now() + limits_.window, hard);
        }
      }
      if (ended_ || result_ || legs_.empty()) continue;
      if (clock::now() >= deadline_) {
        abort("the call's deadline passed");
        continue;
      }
      if (round_ >= limits_.max_rounds) {
        abort("the call needed more than " + std::to_string(limits_.max_rounds) + " rounds of input");
        continue;
      }
      if (round_ == 0 && may_wait && !may_wait()) {
        abort("too many calls are waiting for their hosts' input (limit " + std::to_string(limits_.max_calls) +
              "); try again later");
        continue;
      }
      co_return answer::ok(input_required(codec));
    }
    const auto woken = changed_;
    if (!co_await woken->wait_until(deadline_)) abort("the call's deadline passed");
  }
}

}  // namespace manifold::proxy
