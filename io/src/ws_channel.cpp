#include "manifold/io/ws_channel.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <spdlog/spdlog.h>

#include "manifold/io/spawn.hpp"
#include "manifold/io/wake_list.hpp"

namespace manifold::io {

namespace asio = boost::asio;
namespace beast = boost::beast;
constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

namespace {

template <typename WebSocket>
class ws_channel final : public protocol::channel,
                         public std::enable_shared_from_this<ws_channel<WebSocket>> {
 public:
  ws_channel(std::shared_ptr<WebSocket> ws, channel_limits limits)
      : ws_(std::move(ws)), limits_(limits), queue_(limits.max_queued_bytes) {
    ws_->text(true);
  }

  void send(std::string message) override {
    if (closed_) return;
    if (!queue_.push(std::move(message))) {
      spdlog::warn("a WebSocket peer stopped reading: over {} bytes wait for it; disconnected",
                   limits_.max_queued_bytes);
      close();
      return;
    }
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(ws_->get_executor(), write_loop(this->shared_from_this()),
                     log_failure("WebSocket writer"));
    }
  }

  asio::awaitable<std::optional<protocol::frame>> receive() override {
    if (closed_) co_return std::nullopt;
    beast::flat_buffer buffer;
    auto [ec, n] = co_await ws_->async_read(buffer, use_tuple);
    if (ec) {
      if (ec == beast::websocket::error::buffer_overflow) {
        protocol::frame f;
        f.oversized = true;
        f.size = n;
        co_return f;
      }
      closed_ = true;
      co_return std::nullopt;
    }
    protocol::frame f;
    f.text = beast::buffers_to_string(buffer.data());
    f.size = f.text.size();
    co_return f;
  }

  asio::awaitable<bool> flush(std::chrono::steady_clock::time_point deadline) override {
    if (!writing_) co_return true;
    co_await flush_waiters_.wait_until(deadline);
    co_return !writing_;
  }
  void close_outbound() override { close(); }
  void close() override {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    beast::get_lowest_layer(*ws_).close();
  }
  [[nodiscard]] std::size_t queued() const override { return queue_.bytes(); }
  [[nodiscard]] protocol::link_description describe() const override { return {{}, "tcp"}; }

 private:
  // The only writer of the socket; each write within the write timeout (its own timer: the
  // stream's expiry would also cut the read in progress).
  static asio::awaitable<void> write_loop(std::shared_ptr<ws_channel> self) {
    asio::steady_timer deadline(self->ws_->get_executor());
    while (!self->queue_.empty() && !self->closed_) {
      auto message = self->queue_.pop();
      deadline.expires_after(self->limits_.write_timeout);
      deadline.async_wait([weak = std::weak_ptr<ws_channel>(self)](const boost::system::error_code& ec) {
        auto channel = weak.lock();
        if (ec || !channel || channel->closed_) return;
        spdlog::warn("a WebSocket peer has not read for {} ms; disconnected",
                     channel->limits_.write_timeout.count());
        channel->close();
      });
      auto [ec, n] = co_await self->ws_->async_write(asio::buffer(message), use_tuple);
      deadline.cancel();
      if (ec) self->close();
    }
    self->writing_ = false;
    self->flush_waiters_.wake_all();
  }

  std::shared_ptr<WebSocket> ws_;
  channel_limits limits_;
  outbound_queue queue_;
  wake_list flush_waiters_;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<protocol::channel> make_ws_channel(std::shared_ptr<ws_stream> ws,
                                                   channel_limits limits) {
  return std::make_shared<ws_channel<ws_stream>>(std::move(ws), limits);
}

std::shared_ptr<protocol::channel> make_ws_channel(std::shared_ptr<wss_stream> ws,
                                                   channel_limits limits) {
  return std::make_shared<ws_channel<wss_stream>>(std::move(ws), limits);
}

}  // namespace manifold::io
