#pragma once

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <cstddef>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "manifold/io/wake_list.hpp"

// The status page's live events (`GET /ui/events`): `status`, `call` and `catalog`, each a
// JSON text, published by whoever notices the change and written by one SSE writer per open
// page. A page that reads too slowly loses its oldest events (it refetches everything when
// it reconnects), and never holds up the publisher.
namespace manifold::observe {

struct feed_event {
  std::string name;  // the SSE `event:` field
  std::string data;  // one line of JSON
};

// One open page's queue. Thread: the io thread.
class feed_subscription {
 public:
  explicit feed_subscription(std::size_t capacity) : capacity_(capacity < 1 ? 1 : capacity) {}

  // What arrived since the last take, oldest first.
  std::vector<feed_event> take();
  // Until an event is waiting or `deadline`; true when one is.
  boost::asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline);
  // Events this page lost because it fell behind.
  [[nodiscard]] std::size_t lost() const { return lost_; }
  // Wakes the reader for good (the listener stops).
  void close();
  [[nodiscard]] bool closed() const { return closed_; }

  void push(const feed_event& e);

 private:
  std::size_t capacity_;
  std::deque<feed_event> queue_;
  std::size_t lost_ = 0;
  bool closed_ = false;
  io::wake_list waiters_;
};

// Thread: the io thread.
class status_feed {
 public:
  // A new page's queue of at most `capacity` events; it ends when the last shared_ptr goes.
  std::shared_ptr<feed_subscription> subscribe(std::size_t capacity = 256);
  // To every open page.
  void publish(std::string_view name, std::string data);
  // Check before building an event nobody would read.
  [[nodiscard]] bool has_subscribers();

 private:
  std::vector<std::weak_ptr<feed_subscription>> pages_;
};

}  // namespace manifold::observe
