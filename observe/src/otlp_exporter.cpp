#include "manifold/observe/otlp_exporter.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/co_spawn.hpp>
#include <deque>
#include <stdexcept>

#include "manifold/io/event.hpp"
#include "manifold/io/http_client.hpp"
#include "manifold/io/wake_list.hpp"
#include "manifold/observe/metrics.hpp"

namespace manifold::observe {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

namespace {

struct queued_span {
  span value;
  steady::time_point at;
};

constexpr std::chrono::milliseconds first_backoff{std::chrono::seconds(1)};
constexpr std::size_t response_limit = 1024 * 1024;

}  // namespace

struct otlp_exporter::state {
  asio::any_io_executor executor;
  otlp_options options;
  otlp_endpoint endpoint;
  metrics* counters = nullptr;
  std::deque<queued_span> queue;
  stats counts;
  bool started = false;
  bool stopping = false;
  bool failing = false;
  steady::time_point stop_deadline;
  steady::time_point backoff_until;
  std::chrono::milliseconds backoff{0};
  io::wake_list wake;
  io::event done;
  std::shared_ptr<io::http_cancel> in_flight = std::make_shared<io::http_cancel>();

  void dropped(bool full, std::size_t n) {
    (full ? counts.dropped_full : counts.dropped_failed) += n;
    if (counters != nullptr) counters->spans_dropped(full ? "queue_full" : "export_failed", n);
  }

  io::http_request request(std::string body, steady::time_point now) const {
    io::http_request req;
    req.method = "POST";
    req.tls = endpoint.tls;
    req.host = endpoint.host;
    req.port = endpoint.port;
    req.target = endpoint.target;
    for (const auto& [name, value] : options.headers) req.headers.emplace_back(name, value);
    req.body = std::move(body);
    req.timeout = options.timeout;
    if (stopping) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(stop_deadline - now);
      req.timeout = std::max(std::chrono::milliseconds(1), std::min(req.timeout, left));
    }
    req.read_limit = response_limit;
    return req;
  }

  void posted(const io::http_response& res, std::size_t n, steady::time_point now) {
    ++counts.posts;
    if (res.error.empty() && res.status >= 200 && res.status < 300) {
      counts.exported += n;
      if (counters != nullptr) counters->spans_exported(n);
      if (failing) spdlog::info("tracing: the OTLP collector accepts spans again");
      failing = false;
      backoff = std::chrono::milliseconds(0);
      return;
    }
    ++counts.failed_posts;
    dropped(false, n);
    backoff = backoff.count() == 0 ? first_backoff : std::min(backoff * 2, options.max_backoff);
    backoff_until = now + backoff;
    if (!failing) {
      const auto why = !res.error.empty() ? res.error : "status " + std::to_string(res.status);
      spdlog::warn("tracing: the OTLP collector at {} did not take {} spans ({}); dropping "
                   "batches until it does, next try in {} ms",
                   options.endpoint, n, why, backoff.count());
    }
    failing = true;
  }
};

// The sender: waits for a full batch, the oldest span's interval, or stop; posts one batch
// at a time.
asio::awaitable<void> otlp_exporter::run(std::shared_ptr<state> s) {
  for (;;) {
    const auto now = steady::now();
    if (s->stopping) {
      if (s->queue.empty() || now >= s->stop_deadline) break;
    } else {
      if (now < s->backoff_until) {
        co_await s->wake.wait_until(s->backoff_until);
        continue;
      }
      const bool full = s->queue.size() >= s->options.batch_size;
      const auto due = s->queue.empty() ? now + s->options.batch_interval
                                        : s->queue.front().at + s->options.batch_interval;
      if (!full && now < due) {
        co_await s->wake.wait_until(due);
        continue;
      }
    }
    std::vector<span> batch;
    const auto n = std::min(s->queue.size(), s->options.batch_size);
    batch.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      batch.push_back(std::move(s->queue.front().value));
      s->queue.pop_front();
    }
    auto body = encode_otlp_text(batch, s->options.resource);
    auto req = s->request(std::move(body), now);
    const auto res = co_await io::send_request(s->executor, std::move(req), s->in_flight);
    s->posted(res, n, steady::now());
    if (s->stopping && s->failing) break;  // no second chance while shutting down
  }
  if (!s->queue.empty()) {
    s->dropped(true, s->queue.size());
    s->queue.clear();
  }
  s->done.set();
}

otlp_exporter::otlp_exporter(asio::any_io_executor executor, otlp_options options, metrics* counters)
    : state_(std::make_shared<state>()) {
  std::string error;
  auto endpoint = parse_otlp_endpoint(options.endpoint, error);
  if (!endpoint) throw std::invalid_argument(error);
  if (options.batch_size == 0) options.batch_size = 1;
  if (options.queue_size < options.batch_size) options.queue_size = options.batch_size;
  state_->executor = std::move(executor);
  state_->options = std::move(options);
  state_->endpoint = std::move(*endpoint);
  state_->counters = counters;
}

otlp_exporter::~otlp_exporter() {
  // The sender may still be parked: let it end at its next step, without counters.
  state_->counters = nullptr;
  if (!state_->done.is_set()) {
    state_->stopping = true;
    state_->stop_deadline = steady::now();
    state_->wake.wake_all();
    if (state_->in_flight->cancel) state_->in_flight->cancel();
  }
}

void otlp_exporter::export_span(span&& s) {
  auto& st = *state_;
  if (st.stopping || st.queue.size() >= st.options.queue_size) {
    st.dropped(true, 1);
    return;
  }
  st.queue.push_back({std::move(s), steady::now()});
  // The first span sets the sender's deadline; a full batch goes at once.
  if (st.queue.size() == 1 || st.queue.size() == st.options.batch_size) st.wake.wake_all();
}

void otlp_exporter::start() {
  if (state_->started) return;
  state_->started = true;
  asio::co_spawn(state_->executor, run(state_), [s = state_](const std::exception_ptr& e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("tracing: the OTLP sender failed ({}); spans are no longer exported", ex.what());
    } catch (...) {
      spdlog::error("tracing: the OTLP sender failed; spans are no longer exported");
    }
    s->stopping = true;
    if (!s->queue.empty()) s->dropped(true, s->queue.size());
    s->queue.clear();
    s->done.set();
  });
}

asio::awaitable<void> otlp_exporter::stop(steady::time_point deadline) {
  auto s = state_;
  if (!s->started) {
    s->stopping = true;
    if (!s->queue.empty()) s->dropped(true, s->queue.size());
    s->queue.clear();
    co_return;
  }
  s->stopping = true;
  s->stop_deadline = deadline;
  s->wake.wake_all();
  const bool ended = co_await s->done.wait_until(deadline);
  if (!ended) {
    if (s->in_flight->cancel) s->in_flight->cancel();
    const auto grace = steady::now() + std::chrono::seconds(1);
    co_await s->done.wait_until(grace);
  }
}

otlp_exporter::stats otlp_exporter::statistics() const { return state_->counts; }
std::size_t otlp_exporter::queued() const { return state_->queue.size(); }

}  // namespace manifold::observe
