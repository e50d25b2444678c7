// Host sessions and the relay without sockets or processes: a fake backend with one upstream
// in memory, hosts on in-process channels. Dispatch, views per group, list_changed per view,
// limits, and where an upstream's requests may go.
#include <gtest/gtest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "manifold/io/event.hpp"
#include "manifold/io/memory_channel.hpp"
#include "manifold/protocol/error_codes.hpp"
#include "manifold/proxy/backend.hpp"
#include "manifold/proxy/relay.hpp"

namespace manifold::proxy {
namespace {

namespace asio = boost::asio;
using protocol::json;
using clock = std::chrono::steady_clock;

// One upstream "k8s" in memory: echo answers at once; hold waits until released; ask sends
// the host (through the relay) the request in its arguments and returns the answer.
class fake_upstream final : public protocol::rpc_peer {
 public:
  explicit fake_upstream(relay*& hub) : hub_(hub) {}
  asio::awaitable<protocol::rpc_reply> call(std::string method, json params, protocol::call_options options) override {
    calls.push_back(method);
    if (method != "tools/call") co_return protocol::rpc_reply::failure(-32601, "no");
    const auto name = params["name"].get<std::string>();
    if (name == "hold") {
      auto control = options.control;
      bool cancelled = false;
      if (control) control->cancel = [this, &cancelled](const std::string&) { cancelled = true; released.set(); };
      co_await released.wait_until(clock::now() + std::chrono::seconds(10));
      if (control) control->cancel = nullptr;
      if (cancelled) {
        auto out = protocol::rpc_reply::failure(-32001, "cancelled");
        out.cancelled = true;
        co_return out;
      }
    }
    if (name == "ask") {
      auto msg = protocol::parse_message(protocol::serialize(protocol::make_request(
          next_id_++, params["arguments"]["method"].get<std::string>(), params["arguments"]["params"])));
      std::string server = "k8s";
      instance_owner shared;
      auto reply = co_await hub_->upstream_request(std::move(server), std::move(*msg.msg), std::move(shared));
      co_return protocol::rpc_reply{json{{"content", json::array({{{"type", "text"},
          {"text", reply.ok() ? reply.result.dump() : reply.error->message}}})}}, std::nullopt};
    }
    co_return protocol::rpc_reply{json{{"content", json::array({{{"type", "text"}, {"text", name}}})}}, std::nullopt};
  }
  void notify(std::string, json) override {}

  std::vector<std::string> calls;
  io::event released;

 private:
  relay*& hub_;
  std::int64_t next_id_ = 1;
};

class fake_backend final : public backend {
 public:
  fake_backend() : upstream_(hub) { set_tools({"get_pods", "delete_pod", "hold", "ask"}); }
  void set_tools(const std::vector<std::string>& names) {
    ns::upstream_listing l;
    l.server = "k8s";
    l.namespace_ = "k8s";
    for (const auto& n : names) l.tools.push_back({{"name", n}, {"inputSchema", {{"type", "object"}}}});
    catalog_ = std::make_shared<ns::catalog>(ns::build_catalog({l}, {}, ++generation_));
  }
  asio::awaitable<bool> ensure_started(json, clock::time_point) override { co_return true; }
  [[nodiscard]] clock::time_point start_deadline() const override { return clock::now() + std::chrono::seconds(5); }
  [[nodiscard]] std::shared_ptr<const ns::catalog> snapshot() const override { return catalog_; }
  using backend::peer;
  protocol::rpc_peer* peer(std::string_view server, std::uint64_t, const json&, std::string_view) override {
    return server == "k8s" ? &upstream_ : nullptr;
  }
  void release_session(std::uint64_t) override {}
  [[nodiscard]] std::vector<std::string> upstreams_with(std::string_view) const override { return {"k8s"}; }
  [[nodiscard]] bool ready() const override { return true; }
  [[nodiscard]] json status() const override { return json::object(); }
  [[nodiscard]] json server_capabilities() const override { return {{"tools", {{"listChanged", true}}}}; }
  [[nodiscard]] std::string instructions() const override { return {}; }

  relay* hub = nullptr;
  fake_upstream upstream_;

 private:
  std::shared_ptr<const ns::catalog> catalog_;
  std::uint64_t generation_ = 0;
};

// A host on the far end of an in-process channel.
class test_host {
 public:
  test_host(asio::io_context& io, relay& r, group_view group = {}) {
    auto [mine, theirs] = io::make_channel_pair();
    link_ = mine;
    session_ = r.open_session(theirs, std::move(group));
    asio::co_spawn(io, session_->run(), asio::detached);
  }
  void send(const json& m) { link_->send(protocol::serialize(m)); }
  asio::awaitable<json> next() {
    auto f = co_await link_->receive();
    co_return f ? json::parse(f->text) : json();
  }
  // The response to `id`; notifications and requests before it are kept in `others`. (A plain
  // function in front of the coroutine: GCC 12 mis-compiles string literals passed straight
  // to a coroutine.)
  asio::awaitable<json> request(json id, std::string_view method, json params = json::object()) {
    return exchange(std::move(id), std::string(method), std::move(params));
  }
  asio::awaitable<json> exchange(json id, std::string method, json params) {
    send(protocol::make_request(id, method, std::move(params)));
    for (;;) {
      auto m = co_await next();
      if (m.is_null() || (m.contains("id") && m["id"] == id && !m.contains("method"))) co_return m;
      others.push_back(std::move(m));
    }
  }
  asio::awaitable<void> initialize(json caps = json::object()) {
    json params{{"protocolVersion", "2025-11-25"}, {"capabilities", std::move(caps)}};
    co_await request("init", "initialize", std::move(params));
    send(protocol::make_notification("notifications/initialized", nullptr));
  }
  void close() { link_->close_outbound(); }

  std::vector<json> others;

 private:
  std::shared_ptr<protocol::channel> link_;
  std::shared_ptr<host_session> session_;
};

template <typename Body>
void run(Body body) {
  asio::io_context io;
  fake_backend backend;
  relay_options options;
  options.max_in_flight = 4;
  auto r = make_relay(io.get_executor(), backend, options);
  backend.hub = r.get();
  bool finished = false;
  asio::co_spawn(io, body(io, *r, backend), [&](const std::exception_ptr& e) {
    finished = true;
    if (e) std::rethrow_exception(e);
  });
  io.run_for(std::chrono::seconds(20));
  EXPECT_TRUE(finished) << "the test body did not finish";
}

group_view group_of(std::vector<std::string> include) {
  return {"g", std::make_shared<ns::name_filter>(std::move(include), std::vector<std::string>{})};
}

TEST(session, methods_are_dispatched_and_bad_params_get_invalid_params) {
  run([](asio::io_context& io, relay& r, fake_backend&) -> asio::awaitable<void> {
    test_host h(io, r);
    {
      const auto reply = co_await h.request(1, "tools/list");
      EXPECT_EQ(reply["error"]["code"], -32600) << "before initialize";
    }
    co_await h.initialize();
    {
      const auto reply = co_await h.request(2, "tools/list");
      EXPECT_EQ(reply["result"]["tools"].size(), 4U);
    }
    {
      json args1 = {{"name", "k8s__get_pods"}};
      const auto reply = co_await h.request(3, "tools/call", std::move(args1));
      EXPECT_EQ(reply["result"]["content"][0]["text"], "get_pods");
    }
    {
      const auto reply = co_await h.request(4, "no/such");
      EXPECT_EQ(reply["error"]["code"], -32601);
    }
    {
      json args2 = {{"name", 7}};
      const auto reply = co_await h.request(5, "tools/call", std::move(args2));
      EXPECT_EQ(reply["error"]["code"], -32602);
    }
    {
      const auto reply = co_await h.request(6, "tools/call", json::array());
      EXPECT_EQ(reply["error"]["code"], -32602);
    }
    {
      json args3 = {{"level", {1}}};
      const auto reply = co_await h.request(7, "logging/setLevel", std::move(args3));
      EXPECT_EQ(reply["error"]["code"], -32602);
    }
    h.close();
  });
}

TEST(session, a_group_is_a_view_and_what_it_hides_is_unknown) {
  run([](asio::io_context& io, relay& r, fake_backend& b) -> asio::awaitable<void> {
    test_host h(io, r, group_of({"k8s__get_*"}));
    co_await h.initialize();
    const auto list = co_await h.request(1, "tools/list");
    EXPECT_EQ(list["result"]["tools"].size(), 1U);
    EXPECT_EQ(list.at("result").at("tools").at(0).at("name"), "k8s__get_pods");
    json args4 = {{"name", "k8s__delete_pod"}};
    const auto hidden = co_await h.request(2, "tools/call", std::move(args4));
    EXPECT_EQ(hidden["error"]["message"], "Unknown tool: k8s__delete_pod");
    EXPECT_EQ(b.upstream_.calls.size(), 0U) << "nothing hidden reaches the upstream";
    h.close();
  });
}

TEST(session, list_changed_reaches_only_the_sessions_whose_view_changed) {
  run([](asio::io_context& io, relay& r, fake_backend& b) -> asio::awaitable<void> {
    test_host pods(io, r, group_of({"k8s__get_pods"}));
    test_host all(io, r);
    co_await pods.initialize();
    co_await all.initialize();
    b.set_tools({"get_pods", "delete_pod", "hold", "ask", "get_nodes"});  // only `all` sees the new tool
    r.catalog_changed();
    // A ping after the change: whatever list_changed was sent arrived before its answer.
    co_await pods.request("p", "ping");
    co_await all.request("p", "ping");
    EXPECT_TRUE(pods.others.empty()) << pods.others.size();
    EXPECT_EQ(all.others.size(), 1U);
    if (!all.others.empty()) {
      EXPECT_EQ(all.others[0]["method"], "notifications/tools/list_changed");
    }
    pods.close();
    all.close();
  });
}

TEST(session, requests_beyond_the_in_flight_cap_are_refused_and_cancels_reach_the_upstream) {
  run([](asio::io_context& io, relay& r, fake_backend& b) -> asio::awaitable<void> {
    test_host h(io, r);
    co_await h.initialize();
    for (int i = 0; i < 6; ++i) h.send(protocol::make_request(i, "tools/call", {{"name", "k8s__hold"}}));
    int refused = 0;
    for (int i = 0; i < 2; ++i) {
      const auto m = co_await h.next();
      EXPECT_EQ(m["error"]["code"], protocol::error_code::limit_exceeded);
      ++refused;
    }
    EXPECT_EQ(refused, 2);
    h.send(protocol::make_notification("notifications/cancelled", {{"requestId", 0}, {"reason", 5}}));
    b.upstream_.released.set();
    std::set<int> answered;
    while (answered.size() < 3) {
      const auto m = co_await h.next();
      answered.insert(m["id"].get<int>());
    }
    EXPECT_EQ(answered, (std::set<int>{1, 2, 3})) << "the cancelled call gets no answer";
    h.close();
  });
}

TEST(session, an_upstream_request_goes_only_where_it_provably_belongs) {
  run([](asio::io_context& io, relay& r, fake_backend& b) -> asio::awaitable<void> {
    const json caps{{"sampling", json::object()}};
    test_host a(io, r);
    test_host c(io, r);
    co_await a.initialize(caps);
    co_await c.initialize(caps);
    // c has a call in flight to the same upstream; a's call then asks for sampling: two
    // sessions could be meant, so the upstream is refused, naming isolation.
    c.send(protocol::make_request("held", "tools/call", {{"name", "k8s__hold"}}));
    co_await c.request("p", "ping");
    json ask{{"name", "k8s__ask"},
             {"arguments", {{"method", "sampling/createMessage"}, {"params", json::object()}}}};
    const auto asked = co_await a.request("ask", "tools/call", std::move(ask));
    EXPECT_NE(asked["result"]["content"][0]["text"].get<std::string>().find("isolation"), std::string::npos) << asked.dump();
    EXPECT_TRUE(a.others.empty()) << "a was not asked";
    b.upstream_.released.set();
    co_await c.next();
    a.close();
    c.close();
  });
}

}  // namespace
}  // namespace manifold::proxy
