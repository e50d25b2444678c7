#include "ws_channel.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <deque>

namespace manifold::proxy {

namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

class ws_channel final : public protocol::channel, public std::enable_shared_from_this<ws_channel> {
 public:
  explicit ws_channel(std::shared_ptr<ws_stream> ws) : ws_(std::move(ws)) { ws_->text(true); }

  void send(std::string message) override {
    if (closed_) return;
    queue_.push_back(std::move(message));
    if (!writing_) {
      writing_ = true;
      asio::co_spawn(ws_->get_executor(), write_loop(shared_from_this()), asio::detached);
    }
  }

  asio::awaitable<std::optional<protocol::frame>> receive() override {
    if (closed_) co_return std::nullopt;
    beast::flat_buffer buffer;
    auto [ec, n] = co_await ws_->async_read(buffer, asio::as_tuple(asio::use_awaitable));
    if (ec) {
      closed_ = true;
      co_return std::nullopt;
    }
    protocol::frame f;
    f.text = beast::buffers_to_string(buffer.data());
    f.size = f.text.size();
    co_return f;
  }

  asio::awaitable<bool> flush(std::chrono::steady_clock::time_point) override {
    co_return queue_.empty();
  }
  void close_outbound() override { close(); }
  void close() override {
    if (closed_) return;
    closed_ = true;
    queue_.clear();
    beast::get_lowest_layer(*ws_).close();
  }
  [[nodiscard]] std::size_t queued() const override { return queue_.size(); }

 private:
  static asio::awaitable<void> write_loop(std::shared_ptr<ws_channel> self) {
    while (!self->queue_.empty() && !self->closed_) {
      auto message = std::move(self->queue_.front());
      self->queue_.pop_front();
      auto [ec, n] = co_await self->ws_->async_write(asio::buffer(message),
                                                     asio::as_tuple(asio::use_awaitable));
      if (ec) {
        self->closed_ = true;
        self->queue_.clear();
      }
    }
    self->writing_ = false;
  }

  std::shared_ptr<ws_stream> ws_;
  std::deque<std::string> queue_;
  bool writing_ = false;
  bool closed_ = false;
};

}  // namespace

std::shared_ptr<protocol::channel> make_ws_channel(std::shared_ptr<ws_stream> ws) {
  return std::make_shared<ws_channel>(std::move(ws));
}

}  // namespace manifold::proxy
