// manifold-loadgen: drives an MCP server as a host would and measures it. One thread, closed
// loop: each of the C slots sends its next call as soon as its previous one is answered, so
// the figures are latency under a fixed concurrency, and calls/s is what that concurrency
// sustains. Prints one JSON object per run on stdout.
//
//   loadgen stdio   [--inflight C] [--calls N] [--seconds S] [--warmup W] [--tool T] -- CMD...
//   loadgen http    --url URL [--sessions S] [--inflight C] [--calls N] [--seconds S] [--header "K: V"] ...
//   loadgen sse     --url URL [--inflight C] [--calls N] ...   (2024-11-05 HTTP+SSE)
//   loadgen modern  --url URL [--inflight C] [--calls N] ...   (2026-07-28 stateless requests)
//   loadgen idle    --url URL --sessions N [--rss-pid PID]
//   loadgen catalog [--rss-self] -- CMD...
//
// stdio and catalog start CMD on pipes (the server under test: manifold, or the upstream
// itself for a direct baseline). http opens S sessions, each with C keep-alive connections.
// idle opens N sessions and leaves them idle, reporting the server's RSS growth per session.
#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "manifold/io/pipe_channel.hpp"
#include "manifold/protocol/json_rpc.hpp"
#include "manifold/protocol/sse_parser.hpp"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using manifold::protocol::json;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::string mode;
  std::size_t inflight = 1;
  std::size_t sessions = 1;
  std::size_t calls = 0;        // 0: bounded by time only
  double seconds = 5.0;         // 0: bounded by count only
  std::size_t warmup = 200;     // calls not recorded at the start
  std::string tool = "echo";
  std::string arguments = R"({"text":"hello manifold"})";
  std::string url;
  pid_t rss_pid = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // --header "Name: value"
  std::vector<std::string> command;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "loadgen: " << why << "\n"
            << "usage: loadgen stdio|http|idle|catalog [options] [-- command...]\n";
  std::exit(64);
}

options parse(int argc, char** argv) {
  if (argc < 2) usage("no mode");
  options o;
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--") {
      for (++i; i < argc; ++i) o.command.emplace_back(argv[i]);
      break;
    }
    if (i + 1 >= argc) usage(a + " needs a value");
    const std::string v = argv[++i];
    if (a == "--inflight") o.inflight = std::stoul(v);
    else if (a == "--sessions") o.sessions = std::stoul(v);
    else if (a == "--calls") o.calls = std::stoul(v);
    else if (a == "--seconds") o.seconds = std::stod(v);
    else if (a == "--warmup") o.warmup = std::stoul(v);
    else if (a == "--tool") o.tool = v;
    else if (a == "--args") o.arguments = v;
    else if (a == "--url") o.url = v;
    else if (a == "--rss-pid") o.rss_pid = static_cast<pid_t>(std::stol(v));
    else if (a == "--header") {
      const auto colon = v.find(':');
      if (colon == std::string::npos) usage("--header takes \"Name: value\"");
      o.headers.emplace_back(v.substr(0, colon), v.substr(v.find_first_not_of(' ', colon + 1)));
    }
    else usage("unknown option " + a);
  }
  if (o.inflight == 0 || o.sessions == 0) usage("--inflight and --sessions must be positive");
  if (o.calls == 0 && o.seconds <= 0) usage("give --calls or --seconds");
  return o;
}

// kB in a "Field:  N kB" line of a /proc file of `pid`: status (VmRSS, VmHWM) or
// smaps_rollup (Pss, Anonymous: the process's own share, where RSS also counts the shared
// library pages every process maps).
long proc_kb(pid_t pid, const std::string& file, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/" + file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::strtol(line.c_str() + field.size() + 1, nullptr, 10);
  }
  return -1;
}

// The integer id of a response we sent (ids are our own integers), or -1: the value of the
// top-level "id" member, found by one scan that tracks strings and nesting (no allocation).
// `failed` tells a JSON-RPC error or an isError result.
long response_id(std::string_view message, bool& failed) {
  failed = message.find("\"error\":{") != std::string_view::npos ||
           message.find("\"isError\":true") != std::string_view::npos;
  int depth = 0;
  for (std::size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      --depth;
    } else if (c == '"') {
      const auto start = ++i;
      while (i < message.size() && message[i] != '"') i += message[i] == '\\' ? 2U : 1U;
      if (depth == 1 && message.substr(start, i - start) == "id" && i + 1 < message.size() && message[i + 1] == ':') {
        long id = -1;
        const char* first = message.data() + i + 2;
        const auto [ptr, ec] = std::from_chars(first, message.data() + message.size(), id);
        return ec == std::errc{} ? id : -1;
      }
    }
  }
  return -1;
}

std::string call_message(long id, const options& opts) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"tools/call","params":{"name":")" + opts.tool + R"(","arguments":)" + opts.arguments + "}}";
}

// The same call as a 2026-07-28 stateless request: the envelope in `_meta`.
std::string modern_call_message(long id, const options& opts) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"tools/call","params":{"name":")" + opts.tool + R"(","arguments":)" + opts.arguments +
         R"(,"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
         R"("io.modelcontextprotocol/clientCapabilities":{},)"
         R"("io.modelcontextprotocol/clientInfo":{"name":"manifold-loadgen","version":"1"}}}})";
}

const std::string initialize_message =
    R"({"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25",)"
    R"("capabilities":{},"clientInfo":{"name":"manifold-loadgen","version":"1"}}})";
const std::string initialized_message = R"({"jsonrpc":"2.0","method":"notifications/initialized"})";

// Latencies of recorded calls and the window they were made in.
struct recorder {
  std::vector<double> micros;
  std::size_t errors = 0;
  clock_type::time_point first{}, last{};

  void add(clock_type::time_point sent, clock_type::time_point now, bool failed) {
    if (micros.empty()) first = sent;
    micros.push_back(std::chrono::duration<double, std::micro>(now - sent).count());
    last = now;
    if (failed) ++errors;
  }

  [[nodiscard]] json report(json extra) const {
    std::vector<double> sorted = micros;
    std::sort(sorted.begin(), sorted.end());
    auto pct = [&](double p) {
      if (sorted.empty()) return 0.0;
      const auto i = static_cast<std::size_t>(p * static_cast<double>(sorted.size() - 1) + 0.5);
      return sorted[std::min(i, sorted.size() - 1)];
    };
    const double window = std::chrono::duration<double>(last - first).count();
    extra["calls"] = sorted.size();
    extra["errors"] = errors;
    extra["seconds"] = window;
    extra["calls_per_s"] = window > 0 ? static_cast<double>(sorted.size()) / window : 0.0;
    extra["p50_us"] = pct(0.50);
    extra["p90_us"] = pct(0.90);
    extra["p99_us"] = pct(0.99);
    extra["max_us"] = sorted.empty() ? 0.0 : sorted.back();
    return extra;
  }
};

// Decides whether another call may start: by count and by time, after the warmup calls.
struct budget {
  const options& opts;
  clock_type::time_point deadline = clock_type::time_point::max();
  std::size_t started = 0;

  [[nodiscard]] bool more() const {
    if (opts.calls != 0 && started >= opts.calls + opts.warmup) return false;
    return clock_type::now() < deadline;
  }
  void begin() {
    if (opts.seconds > 0) {
      deadline = clock_type::now() + std::chrono::duration_cast<clock_type::duration>(
                                         std::chrono::duration<double>(opts.seconds));
    }
  }
};

struct child {
  pid_t pid = -1;
  int to_child = -1;
  int from_child = -1;
};

child spawn(const std::vector<std::string>& command) {
  if (command.empty()) usage("no command after --");
  int in[2];
  int out[2];
  if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) {
    std::perror("pipe2");
    std::exit(1);
  }
  const pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], 0);
    dup2(out[1], 1);
    std::vector<char*> argv;
    for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::perror("execvp");
    _exit(127);
  }
  close(in[0]);
  close(out[1]);
  return {pid, in[1], out[0]};
}

void reap(child& c, std::shared_ptr<manifold::protocol::channel>& link) {
  link->close();
  int status = 0;
  kill(c.pid, SIGTERM);
  waitpid(c.pid, &status, 0);
}

// stdio: one pipe link, C calls in flight, each answer starting the next call.
json run_stdio(const options& opts) {
  asio::io_context io;
  child c = spawn(opts.command);
  auto link = manifold::io::make_pipe_channel(asio::readable_pipe(io, c.from_child),
                                              asio::writable_pipe(io, c.to_child), 64 << 20);
  recorder rec;
  json result;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    link->send(initialize_message);
    auto reply = co_await link->receive();
    if (!reply) throw std::runtime_error("server closed before answering initialize");
    link->send(initialized_message);

    budget b{opts};
    std::vector<clock_type::time_point> sent;
    sent.reserve(opts.calls != 0 ? opts.calls + opts.warmup + 1 : 1 << 20);
    sent.push_back({});  // id 0 was initialize
    auto issue = [&] {
      const long id = static_cast<long>(sent.size());
      sent.push_back(clock_type::now());
      ++b.started;
      link->send(call_message(id, opts));
    };
    b.begin();
    for (std::size_t i = 0; i < opts.inflight && b.more(); ++i) issue();
    std::size_t outstanding = b.started;
    while (outstanding > 0) {
      auto frame = co_await link->receive();
      if (!frame) throw std::runtime_error("server closed with calls outstanding");
      bool failed = false;
      const long id = response_id(frame->text, failed);
      if (id <= 0 || static_cast<std::size_t>(id) >= sent.size()) continue;  // not a reply of ours
      const auto now = clock_type::now();
      if (static_cast<std::size_t>(id) > opts.warmup) rec.add(sent[static_cast<std::size_t>(id)], now, failed);
      --outstanding;
      if (b.more()) {
        issue();
        ++outstanding;
      }
    }
    result = rec.report({{"mode", "stdio"}, {"inflight", opts.inflight}});
    reap(c, link);
  }, [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  return result;
}

struct endpoint {
  std::string host;
  std::string port;
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;  // sent with every request
};

endpoint parse_url(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u) usage("bad --url " + url);
  endpoint e{std::string(u->host()), u->has_port() ? std::string(u->port()) : "80", std::string(u->encoded_path()), {}};
  if (e.target.empty()) e.target = "/";
  return e;
}

// One keep-alive connection posting JSON-RPC messages to a Streamable HTTP endpoint.
class http_link {
 public:
  http_link(asio::io_context& io, const endpoint& ep) : socket_(io), ep_(ep) {}
  // Sends 2026-07-28 stateless calls of `tool` (its standard headers) instead of session ones.
  void modern(std::string tool) { modern_tool_ = std::move(tool); }

  asio::awaitable<void> connect(const tcp::resolver::results_type& addresses) {
    co_await asio::async_connect(socket_, addresses, asio::use_awaitable);
    socket_.set_option(tcp::no_delay(true));
  }

  // Posts `body`; returns the response (an SSE body is left as it came).
  asio::awaitable<http::response<http::string_body>> post(std::string body, const std::string& session) {
    http::request<http::string_body> req{http::verb::post, ep_.target, 11};
    req.set(http::field::host, ep_.host + ":" + ep_.port);
    req.set(http::field::content_type, "application/json");
    req.set(http::field::accept, "application/json, text/event-stream");
    req.set(http::field::user_agent, "manifold-loadgen");
    if (modern_tool_.empty()) {
      req.set("MCP-Protocol-Version", "2025-11-25");
    } else {
      req.set("MCP-Protocol-Version", "2026-07-28");
      req.set("Mcp-Method", "tools/call");
      req.set("Mcp-Name", modern_tool_);
    }
    if (!session.empty()) req.set("Mcp-Session-Id", session);
    for (const auto& [name, value] : ep_.headers) req.set(name, value);
    req.keep_alive(true);
    req.body() = std::move(body);
    req.prepare_payload();
    co_await http::async_write(socket_, req, asio::use_awaitable);
    http::response<http::string_body> res;
    co_await http::async_read(socket_, buffer_, res, asio::use_awaitable);
    co_return res;
  }

  void close() {
    beast::error_code ignored;
    socket_.shutdown(tcp::socket::shutdown_both, ignored);
    socket_.close(ignored);
  }

 private:
  tcp::socket socket_;
  beast::flat_buffer buffer_;
  const endpoint& ep_;
  std::string modern_tool_;
};

// initialize + notifications/initialized on `link`; returns the session id.
asio::awaitable<std::string> open_session(http_link& link) {
  auto res = co_await link.post(initialize_message, "");
  if (res.result() != http::status::ok) {
    throw std::runtime_error("initialize answered " + std::to_string(res.result_int()));
  }
  std::string session(res["Mcp-Session-Id"]);
  auto ack = co_await link.post(initialized_message, session);
  if (ack.result() != http::status::accepted) {
    throw std::runtime_error("initialized answered " + std::to_string(ack.result_int()));
  }
  co_return session;
}

// http: S sessions x C connections, each connection a closed loop of calls.
json run_http(const options& opts) {
  asio::io_context io;
  endpoint ep = parse_url(opts.url);
  ep.headers = opts.headers;
  tcp::resolver resolver(io);
  const auto addresses = resolver.resolve(ep.host, ep.port);
  recorder rec;
  budget b{opts};
  std::size_t failures = 0;
  std::size_t opened = 0;
  long next_id = 1;
  std::vector<std::string> sessions(opts.sessions);
  const std::size_t recorded_after = opts.warmup;

  const bool modern = opts.mode == "modern";
  auto slot = [&](std::string session) -> asio::awaitable<void> {
    http_link link(io, ep);
    if (modern) link.modern(opts.tool);
    co_await link.connect(addresses);
    while (b.more()) {
      const long id = next_id++;
      ++b.started;
      const auto sent = clock_type::now();
      // (the body is built outside co_await: GCC 12 mis-compiles a ?: temporary inside it)
      auto body = modern ? modern_call_message(id, opts) : call_message(id, opts);
      auto res = co_await link.post(std::move(body), session);
      const auto now = clock_type::now();
      bool failed = res.result() != http::status::ok;
      if (!failed) response_id(res.body(), failed);
      if (static_cast<std::size_t>(id) > recorded_after) rec.add(sent, now, failed);
      if (failed) ++failures;
    }
    link.close();
  };

  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    // Sessions first (not measured), then every connection starts calling at once. A
    // 2026-07-28 host has no session: one slot set of C connections.
    if (modern) sessions.assign(1, std::string());
    for (auto& s : sessions) {
      if (modern) break;
      http_link link(io, ep);
      co_await link.connect(addresses);
      s = co_await open_session(link);
      link.close();
      ++opened;
    }
    b.begin();
    for (const auto& s : sessions) {
      for (std::size_t c = 0; c < opts.inflight; ++c) {
        asio::co_spawn(io, slot(s), [](std::exception_ptr e) {
          if (e) std::rethrow_exception(e);
        });
      }
    }
  }, [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  return rec.report({{"mode", opts.mode}, {"sessions", opened}, {"inflight", opts.inflight}});
}

// sse: the 2024-11-05 HTTP+SSE transport. One GET stream carries every reply; C keep-alive
// connections POST calls (answered 202), each waiting for its reply on the stream.
json run_sse(const options& opts) {
  asio::io_context io;
  endpoint ep = parse_url(opts.url);
  ep.headers = opts.headers;
  tcp::resolver resolver(io);
  const auto addresses = resolver.resolve(ep.host, ep.port);
  recorder rec;
  budget b{opts};
  long next_id = 1;
  struct waiter {
    asio::steady_timer* wake = nullptr;
    bool answered = false;
    bool failed = false;
  };
  std::unordered_map<long, waiter> waiting;
  endpoint post_to = ep;
  asio::steady_timer endpoint_known(io, clock_type::time_point::max());
  bool have_endpoint = false;
  bool done = false;
  tcp::socket stream_socket(io);

  // The stream: the `endpoint` event first, then replies, each waking its caller.
  auto reader = [&]() -> asio::awaitable<void> {
    co_await asio::async_connect(stream_socket, addresses, asio::use_awaitable);
    http::request<http::empty_body> req{http::verb::get, ep.target, 11};
    req.set(http::field::host, ep.host + ":" + ep.port);
    req.set(http::field::accept, "text/event-stream");
    req.set(http::field::user_agent, "manifold-loadgen");
    for (const auto& [name, value] : ep.headers) req.set(name, value);
    co_await http::async_write(stream_socket, req, asio::use_awaitable);
    beast::flat_buffer buffer;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    co_await http::async_read_header(stream_socket, buffer, parser, asio::use_awaitable);
    manifold::protocol::sse_parser events;
    std::array<char, 64 * 1024> chunk{};
    while (!done) {
      parser.get().body().data = chunk.data();
      parser.get().body().size = chunk.size();
      auto [ec, n] = co_await http::async_read_some(stream_socket, buffer, parser, asio::as_tuple(asio::use_awaitable));
      if (ec == http::error::need_buffer) ec = {};
      if (ec) break;
      events.append(std::string_view(chunk.data(), chunk.size() - parser.get().body().size));
      while (auto e = events.next()) {
        if (e->event == "endpoint") {
          auto u = boost::urls::parse_uri_reference(e->data);
          if (u) post_to.target = std::string(u->encoded_resource());
          have_endpoint = true;
          endpoint_known.cancel();
          continue;
        }
        bool failed = false;
        const long id = response_id(e->data, failed);
        if (auto it = waiting.find(id); it != waiting.end()) {
          it->second.answered = true;
          it->second.failed = failed;
          if (it->second.wake != nullptr) it->second.wake->cancel();
        }
      }
    }
  };

  auto slot = [&]() -> asio::awaitable<void> {
    http_link link(io, post_to);
    co_await link.connect(addresses);
    asio::steady_timer wake(io);
    while (b.more()) {
      const long id = next_id++;
      ++b.started;
      waiting[id] = waiter{};
      const auto sent = clock_type::now();
      auto res = co_await link.post(call_message(id, opts), "");
      bool failed = res.result() != http::status::accepted && res.result() != http::status::ok;
      if (!failed && !waiting[id].answered) {
        waiting[id].wake = &wake;
        wake.expires_at(clock_type::time_point::max());
        co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
      }
      failed = failed || waiting[id].failed;
      waiting.erase(id);
      if (static_cast<std::size_t>(id) > opts.warmup) rec.add(sent, clock_type::now(), failed);
    }
    link.close();
  };

  std::size_t running = 0;
  asio::co_spawn(io, reader(), [](std::exception_ptr) {});
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    if (!have_endpoint) co_await endpoint_known.async_wait(asio::as_tuple(asio::use_awaitable));
    http_link init(io, post_to);
    co_await init.connect(addresses);
    // initialize, answered on the stream.
    asio::steady_timer wake(io, clock_type::time_point::max());
    waiting[0].wake = &wake;
    (void)co_await init.post(initialize_message, "");
    if (!waiting[0].answered) co_await wake.async_wait(asio::as_tuple(asio::use_awaitable));
    waiting.erase(0);
    (void)co_await init.post(initialized_message, "");
    init.close();
    b.begin();
    running = opts.inflight;
    for (std::size_t c = 0; c < opts.inflight; ++c) {
      asio::co_spawn(io, slot(), [&](std::exception_ptr e) {
        if (--running == 0) {
          done = true;
          beast::error_code ignored;
          stream_socket.shutdown(tcp::socket::shutdown_both, ignored);
          stream_socket.close(ignored);
        }
        if (e) std::rethrow_exception(e);
      });
    }
  }, [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  return rec.report({{"mode", "sse"}, {"inflight", opts.inflight}});
}

// idle: N sessions opened and left idle; the server's RSS before and after.
json run_idle(const options& opts) {
  asio::io_context io;
  endpoint ep = parse_url(opts.url);
  ep.headers = opts.headers;
  tcp::resolver resolver(io);
  const auto addresses = resolver.resolve(ep.host, ep.port);
  const long before = opts.rss_pid != 0 ? proc_kb(opts.rss_pid, "status", "VmRSS") : -1;
  std::size_t opened = 0;
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    http_link link(io, ep);
    co_await link.connect(addresses);
    for (std::size_t i = 0; i < opts.sessions; ++i) {
      (void)co_await open_session(link);
      ++opened;
    }
    link.close();
  }, [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  const long after = opts.rss_pid != 0 ? proc_kb(opts.rss_pid, "status", "VmRSS") : -1;
  json out{{"mode", "idle"}, {"sessions", opened}, {"rss_before_kb", before}, {"rss_after_kb", after}};
  if (before >= 0 && opened > 0) {
    out["per_session_bytes"] = static_cast<double>(after - before) * 1024.0 / static_cast<double>(opened);
  }
  return out;
}

// catalog: time from start until initialize is answered and until every tools/list page is
// in; then the time to list every page again, and the server's memory.
json run_catalog(const options& opts) {
  asio::io_context io;
  const auto started = clock_type::now();
  child c = spawn(opts.command);
  auto link = manifold::io::make_pipe_channel(asio::readable_pipe(io, c.from_child),
                                              asio::writable_pipe(io, c.to_child), 256 << 20);
  json out{{"mode", "catalog"}};
  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    long id = 0;
    auto request = [&](const std::string& method, json params) -> asio::awaitable<json> {
      const long mine = ++id;
      link->send(manifold::protocol::serialize(manifold::protocol::make_request(mine, method, std::move(params))));
      while (auto frame = co_await link->receive()) {
        auto message = json::parse(frame->text, nullptr, false);
        if (message.is_object() && message.value("id", json()) == mine) co_return message;
      }
      throw std::runtime_error("server closed before answering " + method);
    };
    auto list_all = [&]() -> asio::awaitable<std::size_t> {
      std::size_t tools = 0;
      json params = json::object();
      for (;;) {
        const json reply = co_await request("tools/list", params);
        const auto& result = reply.at("result");
        tools += result.at("tools").size();
        if (!result.contains("nextCursor")) break;
        params = json{{"cursor", result["nextCursor"]}};
      }
      co_return tools;
    };
    link->send(initialize_message);
    (void)co_await link->receive();
    const auto initialized = clock_type::now();
    link->send(initialized_message);
    const auto tools = co_await list_all();
    const auto listed = clock_type::now();
    (void)co_await list_all();
    const auto relisted = clock_type::now();
    auto ms = [](auto d) { return std::chrono::duration<double, std::milli>(d).count(); };
    out["tools"] = tools;
    out["initialize_ms"] = ms(initialized - started);
    out["catalog_ms"] = ms(listed - started);
    out["list_all_pages_ms"] = ms(relisted - listed);
    out["rss_kb"] = proc_kb(c.pid, "status", "VmRSS");
    out["peak_rss_kb"] = proc_kb(c.pid, "status", "VmHWM");
    out["pss_kb"] = proc_kb(c.pid, "smaps_rollup", "Pss");
    out["anon_kb"] = proc_kb(c.pid, "smaps_rollup", "Anonymous");
    reap(c, link);
  }, [](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
  });
  io.run();
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  signal(SIGPIPE, SIG_IGN);
  const options opts = parse(argc, argv);
  try {
    json out;
    if (opts.mode == "stdio") out = run_stdio(opts);
    else if (opts.mode == "http" || opts.mode == "modern") out = run_http(opts);
    else if (opts.mode == "sse") out = run_sse(opts);
    else if (opts.mode == "idle") out = run_idle(opts);
    else if (opts.mode == "catalog") out = run_catalog(opts);
    else usage("unknown mode " + opts.mode);
    std::cout << out.dump() << std::endl;
  } catch (const std::exception& e) {
    std::cerr << "loadgen: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
