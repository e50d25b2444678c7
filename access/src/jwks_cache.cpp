#include "manifold/access/jwks_cache.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <sstream>

#include "manifold/io/event.hpp"

namespace manifold::access {

namespace asio = boost::asio;

namespace {

// Ends a refresh however its coroutine ends: wakes the joiners and clears the marker.
struct refresh_guard {
  refresh_guard(std::shared_ptr<io::event>& slot, std::shared_ptr<io::event> e) : running(slot), event(std::move(e)) {}
  refresh_guard(const refresh_guard&) = delete;
  refresh_guard& operator=(const refresh_guard&) = delete;
  ~refresh_guard() {
    if (running == event) running.reset();
    event->set();
  }
  std::shared_ptr<io::event>& running;
  std::shared_ptr<io::event> event;
};

std::optional<key_set> keys_of(const std::string& text, const std::string& source) {
  auto doc = parse_jwks(text);
  if (!doc.ok()) {
    spdlog::warn("JWKS from {} unusable: {}; keeping the previous keys", source, doc.error);
    return std::nullopt;
  }
  for (const auto& line : doc.skipped) spdlog::warn("JWKS from {}: skipped {}", source, line);
  return std::move(doc.keys);
}

}  // namespace

jwks_cache::jwks_cache(settings s, fetch_fn fetch, clock_fn clock)
    : settings_(std::move(s)), fetch_(std::move(fetch)), clock_(std::move(clock)) {
  install();
}

jwks_cache::~jwks_cache() = default;

void jwks_cache::install() {
  auto next = std::make_shared<key_set>();
  next->keys = settings_.fixed_keys;
  next->keys.insert(next->keys.end(), file_keys_.begin(), file_keys_.end());
  next->keys.insert(next->keys.end(), url_keys_.begin(), url_keys_.end());
  keys_ = std::move(next);
}

std::optional<key_set> jwks_cache::read_file() const {
  std::ifstream in(settings_.file, std::ios::binary);
  if (!in) {
    spdlog::warn("JWKS file {} cannot be opened; keeping the previous keys", settings_.file);
    return std::nullopt;
  }
  std::string text(max_jwks_bytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  return keys_of(text, settings_.file);
}

bool jwks_cache::load_file() {
  if (settings_.file.empty()) return false;
  auto from_file = read_file();
  if (!from_file) return false;
  file_keys_ = std::move(from_file->keys);
  install();
  return true;
}

asio::awaitable<bool> jwks_cache::reload() {
  ++refreshes_;
  last_attempt_ = clock_();
  bool ok = true;
  if (!settings_.file.empty()) ok = load_file();
  if (!settings_.url.empty() && fetch_) {
    using namespace asio::experimental::awaitable_operators;
    asio::steady_timer timer(co_await asio::this_coro::executor, settings_.fetch_timeout);
    auto outcome = co_await (fetch_(settings_.url, settings_.fetch_timeout) || timer.async_wait(asio::use_awaitable));
    std::optional<key_set> fetched;
    if (outcome.index() != 0 || !std::get<0>(outcome)) {
      spdlog::warn("JWKS from {} not fetched{}; keeping the previous keys", settings_.url,
                   outcome.index() != 0 ? " within the deadline" : "");
    } else {
      fetched = keys_of(*std::get<0>(outcome), settings_.url);
    }
    if (fetched) {
      url_keys_ = std::move(fetched->keys);
      install();
    } else {
      ok = false;
    }
  }
  co_return ok;
}

asio::awaitable<bool> jwks_cache::refresh() {
  if (!has_source()) co_return false;
  if (running_) {
    const auto joined = running_;
    co_await joined->wait_until(std::chrono::steady_clock::now() + settings_.fetch_timeout + std::chrono::seconds(1));
    co_return last_ok_;
  }
  running_ = std::make_shared<io::event>();
  const refresh_guard guard(running_, running_);
  last_ok_ = false;
  last_ok_ = co_await reload();
  co_return last_ok_;
}

asio::awaitable<bool> jwks_cache::refresh_for_unknown_key() {
  if (!has_source()) co_return false;
  if (!running_ && last_attempt_ && clock_() - *last_attempt_ < settings_.min_refresh_interval) co_return false;
  co_return co_await refresh();
}

}  // namespace manifold::access
