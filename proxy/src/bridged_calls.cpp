#include "bridged_calls.hpp"

#include <openssl/rand.h>

#include <boost/asio/co_spawn.hpp>
#include <algorithm>
#include <stdexcept>
#include <vector>

#include "manifold/io/spawn.hpp"

namespace manifold::proxy {

namespace asio = boost::asio;

namespace {

std::string random_id() {
  unsigned char raw[16];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("OpenSSL: no random bytes for a call id");
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (const auto b : raw) {
    out.push_back(digits[b >> 4]);
    out.push_back(digits[b & 0x0f]);
  }
  return out;
}

// Aborts `call` at its deadline unless it ended before.
asio::awaitable<void> watchdog(std::weak_ptr<bridged_call> weak, std::shared_ptr<io::event> done,
                               std::chrono::steady_clock::time_point deadline) {
  if (!co_await done->wait_until(deadline)) {
    if (auto call = weak.lock()) call->abort("the call's deadline passed");
  }
}

}  // namespace

bridged_calls::bridged_calls(asio::any_io_executor executor, bridge_limits limits)
    : executor_(std::move(executor)), limits_(limits) {}

std::shared_ptr<bridged_call> bridged_calls::start(std::uint64_t session, const std::string& principal,
                                                   request_state sealed) {
  auto id = random_id();
  auto done = std::make_shared<io::event>();
  const auto deadline = std::chrono::steady_clock::now() + limits_.lifetime;
  auto call = std::make_shared<bridged_call>(id, session, principal, std::move(sealed), deadline, limits_,
                                             [this, id, done] {
                                               done->set();
                                               calls_.erase(id);
                                               std::exchange(ended_, std::make_shared<io::event>())->set();
                                             });
  calls_[id] = call;
  asio::co_spawn(executor_, watchdog(call, done, deadline), io::log_failure("bridged call watchdog"));
  return call;
}

std::shared_ptr<bridged_call> bridged_calls::find(const std::string& id) const {
  const auto it = calls_.find(id);
  return it == calls_.end() ? nullptr : it->second;
}

std::shared_ptr<bridged_call> bridged_calls::find_related(const protocol::json& related) const {
  if (!related.is_string()) return nullptr;
  const auto& text = related.get_ref<const std::string&>();
  const auto prefix = bridged_call::related_prefix();
  if (text.compare(0, prefix.size(), prefix) != 0) return nullptr;
  return find(text.substr(prefix.size()));
}

bool bridged_calls::may_wait() const {
  std::size_t waiting = 0;
  for (const auto& [id, call] : calls_) {
    if (call->round() > 0) ++waiting;
  }
  return waiting < limits_.max_calls;
}

void bridged_calls::abort_session(std::uint64_t session, const std::string& reason) {
  std::vector<std::shared_ptr<bridged_call>> mine;
  for (const auto& [id, call] : calls_) {
    if (call->session() == session) mine.push_back(call);
  }
  for (const auto& call : mine) call->abort(reason);
}

std::size_t bridged_calls::owned_by(std::uint64_t session) const {
  return static_cast<std::size_t>(std::count_if(calls_.begin(), calls_.end(),
                                                [session](const auto& c) { return c.second->session() == session; }));
}

}  // namespace manifold::proxy
