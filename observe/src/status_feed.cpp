#include "manifold/observe/status_feed.hpp"

#include <algorithm>

namespace manifold::observe {

std::vector<feed_event> feed_subscription::take() {
  std::vector<feed_event> out(std::make_move_iterator(queue_.begin()), std::make_move_iterator(queue_.end()));
  queue_.clear();
  return out;
}

boost::asio::awaitable<bool> feed_subscription::wait_until(std::chrono::steady_clock::time_point deadline) {
  if (!queue_.empty() || closed_) co_return !queue_.empty();
  co_await waiters_.wait_until(deadline);
  co_return !queue_.empty();
}

void feed_subscription::push(const feed_event& e) {
  if (queue_.size() >= capacity_) {
    queue_.pop_front();
    ++lost_;
  }
  queue_.push_back(e);
  waiters_.wake_all();
}

void feed_subscription::close() {
  closed_ = true;
  waiters_.wake_all();
}

std::shared_ptr<feed_subscription> status_feed::subscribe(std::size_t capacity) {
  auto page = std::make_shared<feed_subscription>(capacity);
  pages_.push_back(page);
  return page;
}

void status_feed::publish(std::string_view name, std::string data) {
  const feed_event e{std::string(name), std::move(data)};
  std::erase_if(pages_, [](const auto& w) { return w.expired(); });
  for (const auto& w : pages_) {
    if (auto page = w.lock()) page->push(e);
  }
}

bool status_feed::has_subscribers() {
  std::erase_if(pages_, [](const auto& w) { return w.expired(); });
  return !pages_.empty();
}

}  // namespace manifold::observe
