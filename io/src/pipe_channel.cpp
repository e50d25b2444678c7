#include "manifold/io/pipe_channel.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <spdlog/spdlog.h>
#include <vector>

#include "manifold/io/spawn.hpp"
#include "manifold/io/wake_list.hpp"

namespace manifold::io {

namespace asio = boost::asio;

namespace {

constexpr std::size_t read_chunk = 64 * 1024;
constexpr std::size_t max_batch_messages = 64;

class pipe_channel final : public protocol::channel,
                           public std::enable_shared_from_this<pipe_channel> {
 public:
  pipe_channel(asio::readable_pipe in, asio::writable_pipe out, std::size_t max_message,
               channel_limits limits)
      : in_(std::move(in)), out_(std::move(out)), framer_(max_message), read_buf_(read_chunk),
        limits_(limits), queue_(limits.max_queued_bytes) {}

  void send(std::string message) override {
    if (outbound_closed_ || closed_) return;
    message.push_back('\n');
    if (!queue_.push(std::move(message))) {
      spdlog::warn("a peer stopped reading: over {} bytes wait for it; disconnected",
                   limits_.max_queued_bytes);
      close();
      return;
    }
    start_writer();
  }

  asio::awaitable<std::optional<protocol::frame>> receive() override {
    while (true) {
      if (auto f = framer_.next()) co_return f;
      if (eof_ || closed_) co_return closed_ ? std::nullopt : framer_.finish();
      auto [ec, n] =
          co_await in_.async_read_some(asio::buffer(read_buf_), asio::as_tuple(asio::use_awaitable));
      if (ec) {
        eof_ = true;
        continue;
      }
      framer_.append(std::string_view(read_buf_.data(), n));
    }
  }

  asio::awaitable<bool> flush(std::chrono::steady_clock::time_point deadline) override {
    if (!writing_) co_return true;
    co_await flush_waiters_.wait_until(deadline);
    co_return !writing_;
  }

  void close_outbound() override {
    outbound_closed_ = true;
    if (!writing_) close_out();
  }

  void close() override {
    closed_ = true;
    queue_.clear();
    boost::system::error_code ignored;
    in_.close(ignored);
    out_.close(ignored);
  }

  [[nodiscard]] std::size_t queued() const override { return queue_.bytes(); }

 private:
  void start_writer() {
    if (writing_) return;
    writing_ = true;
    asio::co_spawn(out_.get_executor(), write_loop(shared_from_this()), log_failure("pipe writer"));
  }

  // The only writer of out_: drains the queue in batches, one gather-write each, each within
  // the write timeout.
  static asio::awaitable<void> write_loop(std::shared_ptr<pipe_channel> self) {
    std::deque<std::string> batch;
    std::vector<asio::const_buffer> buffers;
    asio::steady_timer deadline(self->out_.get_executor());
    while (!self->queue_.empty() && !self->closed_) {
      batch.clear();
      buffers.clear();
      self->queue_.take(max_batch_messages, batch);
      for (const auto& m : batch) buffers.emplace_back(asio::buffer(m));
      deadline.expires_after(self->limits_.write_timeout);
      deadline.async_wait([weak = std::weak_ptr<pipe_channel>(self)](const boost::system::error_code& ec) {
        auto channel = weak.lock();
        if (ec || !channel || channel->closed_) return;
        spdlog::warn("a peer has not read for {} ms; disconnected", channel->limits_.write_timeout.count());
        channel->close();
      });
      auto [ec, n] =
          co_await asio::async_write(self->out_, buffers, asio::as_tuple(asio::use_awaitable));
      deadline.cancel();
      if (ec) {
        // The reader of this pipe is gone; nothing queued can be delivered any more.
        self->outbound_closed_ = true;
        self->queue_.clear();
      }
    }
    self->writing_ = false;
    self->flush_waiters_.wake_all();
    if (self->outbound_closed_) self->close_out();
  }

  void close_out() {
    boost::system::error_code ignored;
    out_.close(ignored);
  }

  asio::readable_pipe in_;
  asio::writable_pipe out_;
  protocol::line_framer framer_;
  std::vector<char> read_buf_;
  channel_limits limits_;
  outbound_queue queue_;
  wake_list flush_waiters_;
  bool writing_ = false;
  bool outbound_closed_ = false;
  bool closed_ = false;
  bool eof_ = false;
};

}  // namespace

std::shared_ptr<protocol::channel> make_pipe_channel(asio::readable_pipe in,
                                                     asio::writable_pipe out,
                                                     std::size_t max_message,
                                                     channel_limits limits) {
  return std::make_shared<pipe_channel>(std::move(in), std::move(out), max_message, limits);
}

}  // namespace manifold::io
