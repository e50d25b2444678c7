// REST tools against a local fake HTTP server (127.0.0.1, port 0, same io thread): the URL
// is built with every value percent-encoded, credentials are injected, bodies templated,
// responses projected, status codes mapped, and slow servers cut off.
#include <gtest/gtest.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "exec_test_support.hpp"

namespace manifold::exec {
namespace {

using json = nlohmann::json;
using test::is_error;
using test::text_of;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Answers each connection with `response` (or never, when `stall`), recording the request.
struct fake_api {
  std::vector<std::string> requests;
  std::string response;
  bool stall = false;
  std::unique_ptr<tcp::acceptor> acceptor;

  void start(asio::any_io_executor ex) {
    acceptor =
        std::make_unique<tcp::acceptor>(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    asio::co_spawn(ex, accept_loop(), asio::detached);
  }
  unsigned short port() const { return acceptor->local_endpoint().port(); }

  asio::awaitable<void> accept_loop() {
    while (true) {
      auto [ec, socket] = co_await acceptor->async_accept(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      asio::co_spawn(acceptor->get_executor(), serve(std::move(socket)), asio::detached);
    }
  }
  asio::awaitable<void> serve(tcp::socket socket) {
    std::string data;
    auto [ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(data), "\r\n\r\n",
                                                   asio::as_tuple(asio::use_awaitable));
    if (ec) co_return;
    std::size_t length = 0;
    if (const auto at = data.find("Content-Length: "); at != std::string::npos)
      length = std::stoul(data.substr(at + 16));
    while (data.size() < n + length) {
      std::array<char, 4096> buf{};
      auto [rec, got] =
          co_await socket.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
      if (rec) break;
      data.append(buf.data(), got);
    }
    requests.push_back(data);
    if (stall) {
      std::array<char, 16> buf{};
      co_await socket.async_read_some(
          asio::buffer(buf), asio::as_tuple(asio::use_awaitable));  // until the client leaves
      co_return;
    }
    co_await asio::async_write(socket, asio::buffer(response), asio::as_tuple(asio::use_awaitable));
  }
};

std::string reply(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

const char* const app =
    R"({"metadata":{"name":"shop","namespace":"argocd"},"spec":{"project":"default",
 "source":{"repoURL":"https://git.example/acme/deploy.git","targetRevision":"main"}},
 "status":{"sync":{"status":"OutOfSync","revision":"9a8b7c6"},"health":{"status":"Degraded","message":"Deployment shop has 1 unavailable replica"},
 "operationState":{"phase":"Failed","message":"one or more objects failed to apply"}}})";

std::string yaml_for(unsigned short port) {
  return test::replace_all(R"(
servers:
  argocd:
    exec:
      http:
        base_url: http://127.0.0.1:@PORT@/argo
        headers: {X-Client: manifold}
        credentials: [{header: Authorization, prefix: "Bearer ", env: MANIFOLD_TEST_ARGO_TOKEN}]
      tools:
        app_get:
          http:
            path: /api/v1/applications/{{app}}
            query: {appNamespace: "{{ns}}", refresh: "normal"}
            project: {name: /metadata/name, sync: /status/sync/status, health: /status/health/status, missing: /nope}
            status: {"404": {ok: false, note: no such application}}
          params:
            app: {type: string, maxLength: 100, required: true}
            ns: {type: string, maxLength: 100}
          timeout: 500ms
          untrusted_output: true
        app_sync:
          http:
            method: POST
            path: /api/v1/applications/{{app}}/sync
            body: {revision: "{{revision}}", prune: "{{prune}}", dryRun: false, name: "app {{app}}"}
          params:
            app: {type: string, maxLength: 100, required: true}
            revision: {type: string, maxLength: 40}
            prune: {type: boolean, default: false}
)",
                           "@PORT@", std::to_string(port));
}

TEST(exec_http_tool, builds_safe_urls_injects_credentials_and_projects_the_response) {
  ::setenv("MANIFOLD_TEST_ARGO_TOKEN", "t0ken", 1);
  asio::io_context io;
  fake_api api;
  api.start(io.get_executor());
  api.response = reply(200, app);
  test::client c(test::server_from(yaml_for(api.port())), io);
  const auto r = c.call("app_get", {{"app", "shop"}, {"ns", "argo cd&x=1#frag"}});
  ASSERT_FALSE(is_error(r)) << r.dump();
  EXPECT_EQ(
      r["result"]["structuredContent"],
      json(
          {{"name", "shop"}, {"sync", "OutOfSync"}, {"health", "Degraded"}, {"missing", nullptr}}));
  EXPECT_EQ(r["result"]["_meta"]["manifold/untrusted_output"], true);
  ASSERT_EQ(api.requests.size(), 1U);
  const auto& req = api.requests[0];
  EXPECT_EQ(
      req.substr(0, req.find("\r\n")),
      "GET /argo/api/v1/applications/shop?appNamespace=argo%20cd%26x%3D1%23frag&refresh=normal "
      "HTTP/1.1");
  EXPECT_NE(req.find("Authorization: Bearer t0ken\r\n"), std::string::npos);
  EXPECT_NE(req.find("X-Client: manifold\r\n"), std::string::npos);

  // A value never adds a segment, a query or a fragment; `..` is refused.
  c.call("app_get", {{"app", "../../admin?x=1"}});
  EXPECT_EQ(api.requests.back().substr(0, api.requests.back().find(" HTTP/1.1")),
            "GET /argo/api/v1/applications/..%2F..%2Fadmin%3Fx%3D1?refresh=normal");
  const auto dots = c.call("app_get", {{"app", ".."}});
  EXPECT_TRUE(is_error(dots));
  EXPECT_EQ(api.requests.size(), 2U);
}

TEST(exec_http_tool, templated_json_bodies_keep_types) {
  ::setenv("MANIFOLD_TEST_ARGO_TOKEN", "t0ken", 1);
  asio::io_context io;
  fake_api api;
  api.start(io.get_executor());
  api.response = reply(200, R"({"status":{"operationState":{"phase":"Running"}}})");
  test::client c(test::server_from(yaml_for(api.port())), io);
  const auto r = c.call("app_sync", {{"app", "shop"}, {"prune", true}});
  ASSERT_FALSE(is_error(r)) << r.dump();
  const auto& req = api.requests.back();
  EXPECT_EQ(req.substr(0, req.find("\r\n")), "POST /argo/api/v1/applications/shop/sync HTTP/1.1");
  EXPECT_EQ(
      json::parse(req.substr(req.find("\r\n\r\n") + 4)),
      json(
          {{"prune", true}, {"dryRun", false}, {"name", "app shop"}}));  // absent revision left out
}

TEST(exec_http_tool, status_codes_missing_credentials_and_timeouts) {
  asio::io_context io;
  fake_api api;
  api.start(io.get_executor());
  api.response = reply(404, R"({"error":"application not found","code":5})");
  ::setenv("MANIFOLD_TEST_ARGO_TOKEN", "t0ken", 1);
  test::client c(test::server_from(yaml_for(api.port())), io);
  const auto missing = c.call("app_get", {{"app", "nope"}});
  EXPECT_TRUE(is_error(missing));
  EXPECT_NE(text_of(missing).find("HTTP 404: no such application"), std::string::npos)
      << text_of(missing);

  api.stall = true;
  const auto slow = c.call("app_get", {{"app", "shop"}});
  EXPECT_TRUE(is_error(slow));
  EXPECT_NE(text_of(slow).find("no response within the timeout"), std::string::npos)
      << text_of(slow);

  ::unsetenv("MANIFOLD_TEST_ARGO_TOKEN");
  const auto unset = c.call("app_get", {{"app", "shop"}});
  EXPECT_NE(text_of(unset).find("MANIFOLD_TEST_ARGO_TOKEN is not set"), std::string::npos);
}

}  // namespace
}  // namespace manifold::exec
