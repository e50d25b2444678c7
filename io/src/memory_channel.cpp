#include "manifold/io/memory_channel.hpp"

#include "manifold/io/frame_queue.hpp"

namespace manifold::io {

namespace {

struct pair_state {
  frame_queue queues[2];  // queues[i]: what end i receives
};

class memory_channel final : public protocol::channel {
 public:
  memory_channel(std::shared_ptr<pair_state> state, int side) : state_(std::move(state)), side_(side) {}

  void send(std::string message) override { peer_queue().push(std::move(message)); }
  boost::asio::awaitable<std::optional<protocol::frame>> receive() override {
    co_return co_await own_queue().pop();
  }
  void close_outbound() override { peer_queue().close(); }
  boost::asio::awaitable<bool> flush(std::chrono::steady_clock::time_point) override {
    co_return true;  // sending hands the message over at once
  }
  void close() override {
    own_queue().close();
    peer_queue().close();
  }
  [[nodiscard]] std::size_t queued() const override { return 0; }

 private:
  frame_queue& own_queue() { return state_->queues[side_]; }
  frame_queue& peer_queue() { return state_->queues[1 - side_]; }

  std::shared_ptr<pair_state> state_;
  int side_;
};

}  // namespace

std::pair<std::shared_ptr<protocol::channel>, std::shared_ptr<protocol::channel>>
make_channel_pair() {
  auto state = std::make_shared<pair_state>();
  return {std::make_shared<memory_channel>(state, 0), std::make_shared<memory_channel>(state, 1)};
}

}  // namespace manifold::io
