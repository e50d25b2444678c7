#include "manifold/access/concurrency_limiter.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>

namespace manifold::access {

namespace asio = boost::asio;

// A coroutine parked in the queue: its timer (in its frame) and whether a slot was handed to it.
struct queued_waiter {
  asio::steady_timer* timer = nullptr;
  bool granted = false;
};

struct limiter_state {
  std::size_t limit = 1;
  std::size_t max_queue = 0;
  std::size_t in_use = 0;
  std::deque<queued_waiter*> queue;

  // Hands free slots to waiters, first come first served.
  void grant() {
    while (!queue.empty() && in_use < limit) {
      auto* w = queue.front();
      queue.pop_front();
      ++in_use;
      w->granted = true;
      w->timer->cancel();
    }
  }

  void release() {
    if (in_use > 0) --in_use;
    grant();
  }
};

namespace {

// Leaves the queue however the waiting frame ends; a slot granted but never taken goes back.
struct queue_guard {
  queue_guard(std::shared_ptr<limiter_state> s, queued_waiter* w) : state(std::move(s)), waiter(w) {}
  queue_guard(const queue_guard&) = delete;
  queue_guard& operator=(const queue_guard&) = delete;
  ~queue_guard() {
    if (!waiter->granted) {
      std::erase(state->queue, waiter);
    } else if (!taken) {
      state->release();
    }
  }
  std::shared_ptr<limiter_state> state;
  queued_waiter* waiter;
  bool taken = false;
};

}  // namespace

std::string_view to_string(acquire_status status) {
  switch (status) {
    case acquire_status::queue_full:
      return "queue full";
    case acquire_status::timed_out:
      return "timed out";
    case acquire_status::cancelled:
      return "cancelled";
    case acquire_status::acquired:
      break;
  }
  return "acquired";
}

permit::permit(permit&& other) noexcept : state_(std::move(other.state_)) {}

permit& permit::operator=(permit&& other) noexcept {
  if (this != &other) {
    release();
    state_ = std::move(other.state_);
  }
  return *this;
}

permit::~permit() { release(); }

void permit::release() {
  if (state_) {
    auto state = std::move(state_);
    state->release();
  }
}

concurrency_limiter::concurrency_limiter(std::size_t limit, std::size_t max_queue)
    : state_(std::make_shared<limiter_state>()) {
  state_->limit = std::max<std::size_t>(limit, 1);
  state_->max_queue = max_queue;
}

std::optional<permit> concurrency_limiter::try_acquire() {
  if (state_->in_use >= state_->limit || !state_->queue.empty()) return std::nullopt;
  ++state_->in_use;
  return permit(state_);
}

asio::awaitable<acquire_result> concurrency_limiter::acquire(std::chrono::steady_clock::time_point deadline) {
  if (auto slot = try_acquire()) co_return acquire_result{acquire_status::acquired, std::move(*slot)};
  // From here on only the shared state is used: it outlives this limiter if need be.
  const auto state = state_;
  if (state->queue.size() >= state->max_queue) co_return acquire_result{acquire_status::queue_full, {}};
  if (deadline <= std::chrono::steady_clock::now()) co_return acquire_result{acquire_status::timed_out, {}};
  asio::steady_timer timer(co_await asio::this_coro::executor, deadline);
  queued_waiter waiter{&timer, false};
  state->queue.push_back(&waiter);
  queue_guard guard(state, &waiter);
  co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  if (waiter.granted) {
    guard.taken = true;
    co_return acquire_result{acquire_status::acquired, permit(state)};
  }
  const bool expired = std::chrono::steady_clock::now() >= deadline;
  co_return acquire_result{expired ? acquire_status::timed_out : acquire_status::cancelled, {}};
}

void concurrency_limiter::set_limit(std::size_t limit) {
  state_->limit = std::max<std::size_t>(limit, 1);
  state_->grant();
}

std::size_t concurrency_limiter::limit() const { return state_->limit; }
std::size_t concurrency_limiter::in_use() const { return state_->in_use; }
std::size_t concurrency_limiter::waiting() const { return state_->queue.size(); }

concurrency_table::concurrency_table(std::size_t max_queue, std::size_t max_keys)
    : max_queue_(max_queue), max_keys_(std::max<std::size_t>(max_keys, 1)) {}

asio::awaitable<acquire_result> concurrency_table::acquire(std::string key, std::size_t limit,
                                                           std::chrono::steady_clock::time_point deadline) {
  if (limit == 0) co_return acquire_result{acquire_status::acquired, {}};
  auto it = limiters_.find(key);
  if (it == limiters_.end()) {
    if (limiters_.size() >= max_keys_) std::erase_if(limiters_, [](const auto& e) { return e.second->idle(); });
    if (limiters_.size() >= max_keys_) co_return acquire_result{acquire_status::queue_full, {}};
    it = limiters_.emplace(std::move(key), std::make_unique<concurrency_limiter>(limit, max_queue_)).first;
  } else if (it->second->limit() != limit) {
    it->second->set_limit(limit);
  }
  // The limiter stays in the table while this waits: only idle limiters are dropped.
  co_return co_await it->second->acquire(deadline);
}

}  // namespace manifold::access
