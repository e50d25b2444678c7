#include "manifold/io/request_tracker.hpp"

#include "manifold/protocol/json_access.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace manifold::io {

namespace asio = boost::asio;

// Lives in the waiting coroutine's frame. The timer is the wake-up: delivering a reply or
// cancelling stores the outcome and cancels the timer; expiry means the deadline passed.
struct request_tracker::waiter {
  asio::steady_timer timer;
  std::optional<result> done;
};

asio::awaitable<request_tracker::result> request_tracker::wait(
    std::int64_t id, std::chrono::steady_clock::time_point deadline) {
  waiter w{asio::steady_timer(co_await asio::this_coro::executor, deadline), std::nullopt};
  waiting_[id] = &w;
  // Off the table however the frame ends: resumed, or destroyed unresumed at teardown.
  struct registered {
    std::unordered_map<std::int64_t, waiter*>& table;
    std::int64_t id;
    registered(std::unordered_map<std::int64_t, waiter*>& t, std::int64_t i) : table(t), id(i) {}
    registered(const registered&) = delete;
    registered& operator=(const registered&) = delete;
    ~registered() { table.erase(id); }
  };
  const registered guard(waiting_, id);
  co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (w.done) co_return std::move(*w.done);
  co_return result{outcome::timed_out, {}};
}

asio::awaitable<request_tracker::result> request_tracker::exchange(
    std::string_view method, protocol::json params, std::chrono::steady_clock::time_point deadline,
    std::shared_ptr<protocol::call_control> control, send_fn send) {
  const auto id = next_id();
  send(protocol::make_request(id, method, std::move(params)));
  if (control) {
    control->cancel = [this, alive = std::weak_ptr<int>(alive_), id, send](const std::string& reason) {
      if (alive.expired() || !cancel(id)) return;
      send(protocol::make_notification("notifications/cancelled",
                                       {{"requestId", id}, {"reason", reason}}));
    };
  }
  auto done = co_await wait(id, deadline);
  if (control) control->cancel = nullptr;
  if (done.how == outcome::timed_out) {
    send(protocol::make_notification("notifications/cancelled",
                                     {{"requestId", id}, {"reason", "timeout"}}));
  }
  co_return done;
}

bool request_tracker::deliver(const protocol::json& id, protocol::rpc_reply reply) {
  const auto key = protocol::integer_value(id);
  if (!key) return false;
  const auto it = waiting_.find(*key);
  if (it == waiting_.end() || it->second->done) return false;
  it->second->done = result{outcome::replied, std::move(reply)};
  it->second->timer.cancel();
  return true;
}

bool request_tracker::cancel(std::int64_t id) {
  const auto it = waiting_.find(id);
  if (it == waiting_.end() || it->second->done) return false;
  it->second->done = result{outcome::cancelled, {}};
  it->second->timer.cancel();
  return true;
}

void request_tracker::fail_all(const protocol::rpc_reply& reply) {
  for (auto& [id, w] : waiting_) {
    if (w->done) continue;
    w->done = result{outcome::replied, reply};
    w->timer.cancel();
  }
}

}  // namespace manifold::io
