#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/this_coro.hpp>
#include <chrono>
#include <memory>
#include <spdlog/spdlog.h>

#include "manifold/io/event.hpp"

namespace manifold::io {

// Runs `fn(item)` for every item concurrently on the current executor and resumes when all
// have finished. `fn` returns awaitable<void> and bounds its own waits; an exception from
// one item is logged and does not stop the others. `items` must outlive the call.
template <typename Range, typename Fn>
asio::awaitable<void> parallel_for_each(Range& items, Fn fn) {
  auto executor = co_await asio::this_coro::executor;
  auto remaining = std::make_shared<std::size_t>(0);
  auto done = std::make_shared<event>();
  for (auto it = std::begin(items); it != std::end(items); ++it) ++*remaining;
  if (*remaining == 0) co_return;
  for (auto& item : items) {
    asio::co_spawn(
        executor,
        [&item, fn, remaining, done]() -> asio::awaitable<void> {
          try {
            co_await fn(item);
          } catch (const std::exception& e) {
            spdlog::error("parallel task failed: {}", e.what());
          }
          if (--*remaining == 0) done->set();
        },
        asio::detached);
  }
  co_await done->wait_until(std::chrono::steady_clock::time_point::max());
}

}  // namespace manifold::io
