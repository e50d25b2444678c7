#pragma once

// A protocol::channel over a WebSocket, one JSON-RPC message per text frame (as the
// TypeScript SDK's WebSocket transport does). Header-only over the stream type (plain or
// TLS); include it only in .cpp files, it pulls in Beast.

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>
#include <memory>

#include "manifold/protocol/channel.hpp"

namespace manifold::io {

template <typename WebSocket>
class ws_channel final : public protocol::channel,
                         public std::enable_shared_from_this<ws_channel<WebSocket>> {
 public:
  explicit ws_channel(std::shared_ptr<WebSocket> ws) : ws_(std::move(ws)) { ws_->text(true); }

  void send(std::string message) override {
    if (closed_) return;
    queue_.push_back(std::move(message));
    if (!writing_) {
      writing_ = true;
      boost::asio::co_spawn(ws_->get_executor(), write_loop(this->shared_from_this()),
                            boost::asio::detached);
    }
  }

  boost::asio::awaitable<std::optional<protocol::frame>> receive() override {
    if (closed_) co_return std::nullopt;
    boost::beast::flat_buffer buffer;
    auto [ec, n] = co_await ws_->async_read(buffer, boost::asio::as_tuple(boost::asio::use_awaitable));
    if (ec) {
      if (ec == boost::beast::websocket::error::buffer_overflow) {
        protocol::frame f;
        f.oversized = true;
        f.size = n;
        co_return f;
      }
      closed_ = true;
      co_return std::nullopt;
    }
    protocol::frame f;
    f.text = boost::beast::buffers_to_string(buffer.data());
    f.size = f.text.size();
    co_return f;
  }

  boost::asio::awaitable<bool> flush(std::chrono::steady_clock::time_point) override {
    co_return queue_.empty();
  }
  void close_outbound() override { close(); }
  void close() override {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    boost::beast::get_lowest_layer(*ws_).close();
  }
  [[nodiscard]] std::size_t queued() const override { return queue_.size(); }

 private:
  // The only writer of the socket.
  static boost::asio::awaitable<void> write_loop(std::shared_ptr<ws_channel> self) {
    while (!self->queue_.empty() && !self->closed_) {
      auto message = std::move(self->queue_.front());
      self->queue_.pop_front();
      auto [ec, n] = co_await self->ws_->async_write(
          boost::asio::buffer(message), boost::asio::as_tuple(boost::asio::use_awaitable));
      if (ec) {
        self->closed_ = true;
        self->queue_.clear();
      }
    }
    self->writing_ = false;
  }

  std::shared_ptr<WebSocket> ws_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace manifold::io
