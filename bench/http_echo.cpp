// bench-http-echo: the direct baseline for HTTP benchmarks. A minimal Streamable HTTP MCP
// server on 127.0.0.1 (port from the OS, written to the file given as argv[1]) offering one
// tool, echo, answering every request with one JSON object on a keep-alive connection. It
// does what the fake server does over stdio, so "HTTP host -> manifold -> upstream" can be
// set beside "HTTP host -> upstream".
#include <openssl/rand.h>
#include <signal.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <iostream>
#include <set>
#include <string>

#include "manifold/protocol/json_rpc.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace protocol = manifold::protocol;
using asio::ip::tcp;
using protocol::json;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

std::string random_session_id() {
  unsigned char bytes[16];
  RAND_bytes(bytes, sizeof bytes);
  static constexpr char hex[] = "0123456789abcdef";
  std::string id;
  for (unsigned char b : bytes) {
    id += hex[b >> 4];
    id += hex[b & 15];
  }
  return id;
}

std::set<std::string> sessions;

json answer(const protocol::message& msg) {
  const auto method = msg.method();
  if (method == "initialize") {
    return protocol::make_result(msg.id(), {{"protocolVersion", msg.params().value("protocolVersion", "2025-11-25")},
                                            {"capabilities", {{"tools", json::object()}}},
                                            {"serverInfo", {{"name", "bench-http-echo"}, {"version", "1"}}}});
  }
  if (method == "tools/list") {
    json tool{{"name", "echo"}, {"description", "Returns its text."},
              {"inputSchema", {{"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}}}};
    return protocol::make_result(msg.id(), {{"tools", json::array({tool})}});
  }
  if (method == "tools/call") {
    const auto params = msg.params();
    if (params.value("name", "") != "echo") {
      return protocol::make_error(msg.id(), {-32602, "Unknown tool", std::nullopt});
    }
    const auto text = params.value("arguments", json::object()).value("text", "");
    json content = json::array({{{"type", "text"}, {"text", text}}});
    return protocol::make_result(msg.id(), {{"content", content}, {"structuredContent", {{"text", text}}}});
  }
  if (method == "ping") return protocol::make_result(msg.id(), json::object());
  return protocol::make_error(msg.id(), {-32601, "Method not found", std::nullopt});
}

asio::awaitable<void> serve(tcp::socket socket) {
  socket.set_option(tcp::no_delay(true));
  beast::flat_buffer buffer;
  for (;;) {
    http::request<http::string_body> req;
    auto [rec, rn] = co_await http::async_read(socket, buffer, req, use_tuple);
    if (rec) co_return;
    http::response<http::string_body> res{http::status::ok, req.version()};
    res.keep_alive(req.keep_alive());
    auto parsed = protocol::parse_message(req.body());
    std::string session(req["Mcp-Session-Id"]);
    if (req.method() != http::verb::post) {
      res.result(http::status::method_not_allowed);
    } else if (!parsed.msg) {
      res.result(http::status::bad_request);
      res.set(http::field::content_type, "application/json");
      res.body() = protocol::serialize(*parsed.error_reply);
    } else if (parsed.msg->kind == protocol::message_kind::request && parsed.msg->method() == "initialize") {
      session = random_session_id();
      sessions.insert(session);
      res.set("Mcp-Session-Id", session);
      res.set(http::field::content_type, "application/json");
      res.body() = protocol::serialize(answer(*parsed.msg));
    } else if (sessions.count(session) == 0) {
      res.result(session.empty() ? http::status::bad_request : http::status::not_found);
    } else if (parsed.msg->kind != protocol::message_kind::request) {
      res.result(http::status::accepted);
    } else {
      res.set(http::field::content_type, "application/json");
      res.body() = protocol::serialize(answer(*parsed.msg));
    }
    res.prepare_payload();
    auto [wec, wn] = co_await http::async_write(socket, res, use_tuple);
    if (wec || !res.keep_alive()) co_return;
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: bench-http-echo PORT_FILE\n";
    return 64;
  }
  signal(SIGPIPE, SIG_IGN);
  asio::io_context io;
  tcp::acceptor acceptor(io, {asio::ip::make_address("127.0.0.1"), 0});
  {
    std::ofstream(std::string(argv[1]) + ".tmp") << acceptor.local_endpoint().port() << "\n";
  }
  std::rename((std::string(argv[1]) + ".tmp").c_str(), argv[1]);
  asio::signal_set stop(io, SIGTERM, SIGINT);
  stop.async_wait([&](auto, int) { io.stop(); });
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
      if (ec) co_return;
      asio::co_spawn(io, serve(std::move(socket)), asio::detached);
    }
  }, asio::detached);
  io.run();
  return 0;
}
