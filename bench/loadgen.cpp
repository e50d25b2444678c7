// manifold-loadgen: drives an MCP server as a host would and measures it. One thread, closed
// loop: each of the C slots sends its next call as soon as its previous one is answered, so
// the figures are latency under a fixed concurrency, and calls/s is what that concurrency
// sustains. Prints one JSON object per run on stdout.
//
//   loadgen stdio   [--inflight C] [--calls N] [--seconds S] [--warmup W] [--tool T] -- CMD...
//   loadgen http    --url URL [--sessions S] [--inflight C] [--calls N] [--seconds S] ...
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
#include <boost/asio/use_awaitable.hpp>
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
#include <vector>

#include "manifold/io/pipe_channel.hpp"
#include "manifold/protocol/json_rpc.hpp"

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
  std::string url;
  pid_t rss_pid = 0;
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
    else if (a == "--url") o.url = v;
    else if (a == "--rss-pid") o.rss_pid = static_cast<pid_t>(std::stol(v));
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

// The integer id of a response we sent (ids are our own small integers), or -1. manifold and
// the fake server serialize objects with sorted keys, so the top-level "id" is the last one
// before "jsonrpc" ("error" may come first and hold ids of its own); `failed` tells a JSON-RPC
// error or an isError result.
long response_id(std::string_view message, bool& failed) {
  failed = message.find("\"error\":{") != std::string_view::npos ||
           message.find("\"isError\":true") != std::string_view::npos;
  const auto pos = message.substr(0, message.find("\"jsonrpc\"")).rfind("\"id\":");
  if (pos == std::string_view::npos) return -1;
  long id = -1;
  const char* first = message.data() + pos + 5;
  const auto [ptr, ec] = std::from_chars(first, message.data() + message.size(), id);
  return ec == std::errc{} ? id : -1;
}

std::string call_message(long id, const std::string& tool) {
  return R"({"jsonrpc":"2.0","id":)" + std::to_string(id) +
         R"(,"method":"tools/call","params":{"name":")" + tool +
         R"(","arguments":{"text":"hello manifold"}}})";
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
      link->send(call_message(id, opts.tool));
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
};

endpoint parse_url(const std::string& url) {
  auto u = boost::urls::parse_uri(url);
  if (!u) usage("bad --url " + url);
  endpoint e{std::string(u->host()), u->has_port() ? std::string(u->port()) : "80", std::string(u->encoded_path())};
  if (e.target.empty()) e.target = "/";
  return e;
}

// One keep-alive connection posting JSON-RPC messages to a Streamable HTTP endpoint.
class http_link {
 public:
  http_link(asio::io_context& io, const endpoint& ep) : socket_(io), ep_(ep) {}

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
    req.set("MCP-Protocol-Version", "2025-11-25");
    if (!session.empty()) req.set("Mcp-Session-Id", session);
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
  const endpoint ep = parse_url(opts.url);
  tcp::resolver resolver(io);
  const auto addresses = resolver.resolve(ep.host, ep.port);
  recorder rec;
  budget b{opts};
  std::size_t failures = 0;
  std::size_t opened = 0;
  long next_id = 1;
  std::vector<std::string> sessions(opts.sessions);
  const std::size_t recorded_after = opts.warmup;

  auto slot = [&](std::string session) -> asio::awaitable<void> {
    http_link link(io, ep);
    co_await link.connect(addresses);
    while (b.more()) {
      const long id = next_id++;
      ++b.started;
      const auto sent = clock_type::now();
      auto res = co_await link.post(call_message(id, opts.tool), session);
      const auto now = clock_type::now();
      bool failed = res.result() != http::status::ok;
      if (!failed) response_id(res.body(), failed);
      if (static_cast<std::size_t>(id) > recorded_after) rec.add(sent, now, failed);
      if (failed) ++failures;
    }
    link.close();
  };

  asio::co_spawn(io, [&]() -> asio::awaitable<void> {
    // Sessions first (not measured), then every connection starts calling at once.
    for (auto& s : sessions) {
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
  return rec.report({{"mode", "http"}, {"sessions", opened}, {"inflight", opts.inflight}});
}

// idle: N sessions opened and left idle; the server's RSS before and after.
json run_idle(const options& opts) {
  asio::io_context io;
  const endpoint ep = parse_url(opts.url);
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
    else if (opts.mode == "http") out = run_http(opts);
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
