// A fake MCP server for integration tests and benchmarks. Speaks newline-delimited JSON-RPC
// on stdio and misbehaves on request, so tests can check what manifold does about it.
//
// Flags:
//   --name NAME                serverInfo.name (default "fake")
//   --tools N                  also offer N generated tools gen-00000 ... (default 0)
//   --page-size K              tools/list pages of K tools with opaque cursors (default: all)
//   --init-delay-ms D          answer initialize after D ms
//   --no-initialize            never answer initialize
//   --protocol-version V       answer initialize with V (default: the client's)
//   --exit-at-start CODE       exit immediately with CODE
//   --garbage-at-start         write non-JSON lines on stdout before anything else
//   --list-changed-early       send notifications/tools/list_changed before the initialize reply
//   --stubborn                 ignore stdin EOF and SIGTERM (only SIGKILL ends it)
//   --tool-prefix P            prefix every fixed tool name with P
//   --pid-file PATH            write the process id to PATH at start
//   --echo-description TEXT    describe the echo tool so (a tool that changed under the user)
//   --null-description         the echo tool's description is null (a wrongly typed field)
//   --deep-schema N            also offer a tool `deep` whose inputSchema nests N objects
//   --record FILE              append every message received, one per line, to FILE
//   --state-file FILE          counts this server's lives (starts) in FILE, across restarts
//   --fail-initialize K        answer initialize with an error in lives 1..K (needs --state-file)
//   --crash-after N            exit with status 3 on the Nth tools/call, before answering it
//   --stall-pings              never answer ping
//   --misbehave-lives K        --crash-after and --stall-pings only in lives 1..K (0: always)
//   --list-delay-ms D          answer tools/list after D ms
//   --extension ID             declare extension ID (settings {"by": NAME}) in its capabilities
// Tools: echo, slow, crash, garbage, flood, big, fail, rpc_error, inspect, progress, ask,
// add_tool, cancellations, emit (see handle_call).
#include <signal.h>
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/readable_pipe.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/writable_pipe.hpp>
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "manifold/io/pipe_channel.hpp"
#include "manifold/io/request_tracker.hpp"
#include "manifold/protocol/json_rpc.hpp"

namespace asio = boost::asio;
using manifold::protocol::json;
namespace protocol = manifold::protocol;

namespace {

struct options {
  std::string name = "fake";
  std::size_t tools = 0;
  std::size_t page_size = 0;
  int init_delay_ms = 0;
  bool no_initialize = false;
  std::string protocol_version;
  int exit_at_start = -1;
  bool garbage_at_start = false;
  bool list_changed_early = false;
  bool stubborn = false;
  std::string tool_prefix;
  std::string pid_file;
  std::string echo_description = "Returns its text.";
  bool null_description = false;
  std::size_t deep_schema = 0;
  std::string record;
  std::string state_file;
  int fail_initialize = 0;
  int crash_after = 0;
  bool stall_pings = false;
  int misbehave_lives = 0;
  int list_delay_ms = 0;
  std::vector<std::string> extensions;
};

options parse_options(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::cerr << "fake_server: " << a << " needs a value\n";
        std::exit(64);
      }
      return argv[++i];
    };
    if (a == "--name") o.name = value();
    else if (a == "--tools") o.tools = std::stoul(value());
    else if (a == "--page-size") o.page_size = std::stoul(value());
    else if (a == "--init-delay-ms") o.init_delay_ms = std::stoi(value());
    else if (a == "--no-initialize") o.no_initialize = true;
    else if (a == "--protocol-version") o.protocol_version = value();
    else if (a == "--exit-at-start") o.exit_at_start = std::stoi(value());
    else if (a == "--garbage-at-start") o.garbage_at_start = true;
    else if (a == "--list-changed-early") o.list_changed_early = true;
    else if (a == "--stubborn") o.stubborn = true;
    else if (a == "--tool-prefix") o.tool_prefix = value();
    else if (a == "--pid-file") o.pid_file = value();
    else if (a == "--echo-description") o.echo_description = value();
    else if (a == "--null-description") o.null_description = true;
    else if (a == "--deep-schema") o.deep_schema = std::stoul(value());
    else if (a == "--record") o.record = value();
    else if (a == "--extension") o.extensions.push_back(value());
    else if (a == "--state-file") o.state_file = value();
    else if (a == "--fail-initialize") o.fail_initialize = std::stoi(value());
    else if (a == "--crash-after") o.crash_after = std::stoi(value());
    else if (a == "--stall-pings") o.stall_pings = true;
    else if (a == "--misbehave-lives") o.misbehave_lives = std::stoi(value());
    else if (a == "--list-delay-ms") o.list_delay_ms = std::stoi(value());
    else {
      std::cerr << "fake_server: unknown flag " << a << '\n';
      std::exit(64);
    }
  }
  return o;
}

json schema(json properties) {
  return {{"type", "object"}, {"properties", std::move(properties)}};
}

// This process's life: 1 for the first start recorded in `path`, 2 for the next... (1 without
// a file). Written with a rename, so a reader never sees half a number.
int count_life(const std::string& path) {
  if (path.empty()) return 1;
  int lives = 0;
  if (std::FILE* f = std::fopen(path.c_str(), "r")) {
    if (std::fscanf(f, "%d", &lives) != 1) lives = 0;
    std::fclose(f);
  }
  ++lives;
  const auto tmp = path + ".tmp";
  if (std::FILE* f = std::fopen(tmp.c_str(), "w")) {
    std::fprintf(f, "%d\n", lives);
    std::fclose(f);
    std::rename(tmp.c_str(), path.c_str());
  }
  return lives;
}

class server {
 public:
  server(asio::io_context& io, options opts)
      : io_(io), opts_(std::move(opts)), life_(count_life(opts_.state_file)),
        misbehaving_(opts_.misbehave_lives == 0 || life_ <= opts_.misbehave_lives),
        link_(manifold::io::make_pipe_channel(asio::readable_pipe(io, ::dup(STDIN_FILENO)),
                                              asio::writable_pipe(io, ::dup(STDOUT_FILENO)),
                                              64 * 1024 * 1024)) {
    build_tools();
  }

  asio::awaitable<void> run() {
    if (opts_.garbage_at_start) {
      link_->send("this is not json");
      link_->send("{\"jsonrpc\":\"2.0\",\"id\":");
    }
    while (auto frame = co_await link_->receive()) {
      if (frame->oversized) continue;
      if (!opts_.record.empty()) {
        if (std::FILE* f = std::fopen(opts_.record.c_str(), "a")) {
          std::fprintf(f, "%s\n", frame->text.c_str());
          std::fclose(f);
        }
      }
      auto parsed = protocol::parse_message(frame->text);
      if (!parsed.msg) {
        link_->send(protocol::serialize(*parsed.error_reply));
        continue;
      }
      const auto& msg = *parsed.msg;
      if (msg.kind == protocol::message_kind::response) {
        outbound_.deliver(msg.body["id"], {msg.body["result"], std::nullopt});
      } else if (msg.kind == protocol::message_kind::error_response) {
        outbound_.deliver(msg.body["id"], {nullptr, protocol::rpc_error::from_json(msg.body["error"])});
      } else if (msg.kind == protocol::message_kind::notification) {
        if (msg.method() == "notifications/cancelled") cancelled_.push_back(msg.params().value("requestId", json()));
      } else {
        asio::co_spawn(io_, handle(std::move(*parsed.msg)), asio::detached);
      }
    }
    std::cerr << "fake_server " << opts_.name << ": stdin closed\n";
    if (opts_.stubborn) {
      asio::steady_timer forever(io_, std::chrono::hours(24));
      co_await forever.async_wait(asio::use_awaitable);
    }
    co_await link_->flush(std::chrono::steady_clock::now() + std::chrono::seconds(2));
  }

 private:
  void build_tools() {
    const auto& p = opts_.tool_prefix;
    tools_.push_back({{"name", p + "echo"},
                      {"title", "Echo"},
                      {"description", opts_.echo_description},
                      {"inputSchema", schema({{"text", {{"type", "string"}}}})},
                      {"outputSchema", schema({{"text", {{"type", "string"}}}})},
                      {"annotations", {{"readOnlyHint", true}}},
                      {"_meta", {{"example.com/origin", "fake"}}}});
    tools_.push_back({{"name", p + "slow"},
                      {"description", "Answers after `ms` milliseconds."},
                      {"inputSchema", schema({{"ms", {{"type", "integer"}}}, {"text", {{"type", "string"}}}})}});
    tools_.push_back({{"name", p + "crash"}, {"description", "Exits mid-call."}, {"inputSchema", schema(json::object())}});
    tools_.push_back({{"name", p + "garbage"}, {"description", "Prints garbage, then answers."}, {"inputSchema", schema(json::object())}});
    tools_.push_back({{"name", p + "flood"}, {"description", "Sends `count` log notifications, then answers."}, {"inputSchema", schema({{"count", {{"type", "integer"}}}})}});
    tools_.push_back({{"name", p + "big"}, {"description", "Answers with `bytes` bytes of text."}, {"inputSchema", schema({{"bytes", {{"type", "integer"}}}})}});
    tools_.push_back({{"name", p + "fail"}, {"description", "Returns an isError result."}, {"inputSchema", schema(json::object())}});
    tools_.push_back({{"name", p + "rpc_error"}, {"description", "Answers with a JSON-RPC error."}, {"inputSchema", schema(json::object())}});
    tools_.push_back({{"name", p + "inspect"}, {"description", "Returns the request it received."}, {"inputSchema", schema(json::object())}});
    tools_.push_back({{"name", p + "progress"}, {"description", "Reports `steps` progress notifications, then answers."}, {"inputSchema", schema({{"steps", {{"type", "integer"}}}})}});
    tools_.push_back({{"name", p + "ask"}, {"description", "Sends `method` with `params` to the client and returns the answer."}, {"inputSchema", schema(json::object())}});
    tools_.push_back({{"name", p + "add_tool"}, {"description", "Adds a tool and announces list_changed."}, {"inputSchema", schema(json::object())}});
    tools_.push_back({{"name", p + "cancellations"}, {"description", "Lists the request ids the client cancelled."}, {"inputSchema", schema(json::object())}});
    tools_.push_back({{"name", p + "emit"},
                      {"description", "Writes `stderr` lines to stderr and `lines` raw to stdout ($ID: this request's id, $DEEP: `depth` nested objects), then answers unless `answer` is false."},
                      {"inputSchema", schema(json::object())}});
    if (opts_.null_description) tools_[0]["description"] = nullptr;
    if (opts_.deep_schema > 0) {
      tools_.push_back({{"name", "deep"}, {"description", "A schema nested too deep."}, {"inputSchema", "$DEEPSCHEMA"}});
    }
    for (std::size_t i = 0; i < opts_.tools; ++i) {
      char name[32];
      std::snprintf(name, sizeof name, "gen-%05zu", i);
      tools_.push_back({{"name", std::string(name)},
                        {"description", "Generated tool " + std::to_string(i)},
                        {"inputSchema", schema(json::object())}});
    }
  }

  // `depth` nested objects as text: {"a":{"a":...1...}}.
  static std::string nested(std::size_t depth) {
    std::string out;
    out.reserve(depth * 6 + 1);
    for (std::size_t i = 0; i < depth; ++i) out += "{\"a\":";
    out += "1";
    out.append(depth, '}');
    return out;
  }

  static void replace_all(std::string& text, const std::string& what, const std::string& with) {
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + with.size())) {
      text.replace(at, what.size(), with);
    }
  }

  void reply(const json& id, json result) { link_->send(protocol::serialize(protocol::make_result(id, std::move(result)))); }

  static json text(std::string s) {
    return {{"content", json::array({{{"type", "text"}, {"text", std::move(s)}}})}};
  }

  asio::awaitable<void> sleep_ms(long ms) {
    asio::steady_timer t(io_, std::chrono::milliseconds(ms));
    co_await t.async_wait(asio::use_awaitable);
  }

  asio::awaitable<void> handle(protocol::message msg) {
    const auto method = std::string(msg.method());
    const auto& id = msg.id();
    const auto params = msg.params();
    if (method == "initialize") {
      if (life_ <= opts_.fail_initialize) {
        std::cerr << "fake_server " << opts_.name << ": failing initialize in life " << life_ << " as asked\n";
        link_->send(protocol::serialize(protocol::make_error(id, {-32603, "not ready yet (life " + std::to_string(life_) + ")", std::nullopt})));
        co_return;
      }
      if (opts_.list_changed_early) {
        link_->send(protocol::serialize(protocol::make_notification("notifications/tools/list_changed", nullptr)));
      }
      if (opts_.no_initialize) co_return;
      if (opts_.init_delay_ms > 0) co_await sleep_ms(opts_.init_delay_ms);
      const auto version = opts_.protocol_version.empty()
                               ? params.value("protocolVersion", std::string("2025-11-25"))
                               : opts_.protocol_version;
      json capabilities{{"tools", {{"listChanged", true}}}, {"logging", json::object()}};
      for (const auto& e : opts_.extensions) capabilities["extensions"][e] = {{"by", opts_.name}};
      reply(id, {{"protocolVersion", version},
                 {"capabilities", std::move(capabilities)},
                 {"serverInfo", {{"name", opts_.name}, {"version", "1.0.0"}}},
                 {"instructions", "A fake server for tests."}});
    } else if (method == "ping" && opts_.stall_pings && misbehaving_) {
      co_return;  // a stalled server: it never answers its health probes
    } else if (method == "ping" || method == "logging/setLevel") {
      reply(id, json::object());
    } else if (method == "tools/list") {
      if (opts_.list_delay_ms > 0) co_await sleep_ms(opts_.list_delay_ms);
      list_tools(id, params);
    } else if (method == "tools/call") {
      if (opts_.crash_after > 0 && misbehaving_ && ++calls_ >= opts_.crash_after) {
        std::cerr << "fake_server " << opts_.name << ": crashing at call " << calls_ << " as asked\n";
        std::_Exit(3);
      }
      co_await handle_call(id, params);
    } else {
      link_->send(protocol::serialize(protocol::make_error(id, {-32601, "Method not found: " + method, std::nullopt})));
    }
  }

  void list_tools(const json& id, const json& params) {
    std::size_t start = 0;
    if (params.contains("cursor")) {
      const auto& c = params["cursor"];
      if (!c.is_string() || c.get<std::string>().rfind("page:", 0) != 0) {
        link_->send(protocol::serialize(protocol::make_error(id, {-32602, "Invalid cursor", std::nullopt})));
        return;
      }
      start = std::stoul(c.get<std::string>().substr(5));
    }
    const auto size = opts_.page_size == 0 ? tools_.size() : opts_.page_size;
    json page = json::array();
    for (std::size_t i = start; i < tools_.size() && i < start + size; ++i) page.push_back(tools_[i]);
    json result{{"tools", std::move(page)}};
    if (start + size < tools_.size()) result["nextCursor"] = "page:" + std::to_string(start + size);
    if (opts_.deep_schema == 0) {
      reply(id, std::move(result));
      return;
    }
    // Built as text: nesting this deep is what the reader must survive, not the writer.
    auto text = protocol::serialize(protocol::make_result(id, std::move(result)));
    const std::string placeholder = "\"$DEEPSCHEMA\"";
    const auto at = text.find(placeholder);
    if (at != std::string::npos) text.replace(at, placeholder.size(), nested(opts_.deep_schema));
    link_->send(std::move(text));
  }

  asio::awaitable<void> handle_call(const json& id, const json& params) {
    auto name = params.value("name", std::string());
    if (!opts_.tool_prefix.empty() && name.rfind(opts_.tool_prefix, 0) == 0) {
      name = name.substr(opts_.tool_prefix.size());
    }
    const auto args = params.value("arguments", json::object());
    if (name == "echo") {
      const auto t = args.value("text", std::string());
      auto r = text(t);
      r["structuredContent"] = {{"text", t}};
      reply(id, std::move(r));
    } else if (name == "slow") {
      co_await sleep_ms(args.value("ms", 100L));
      reply(id, text(args.value("text", std::string("slow done"))));
    } else if (name == "crash") {
      std::cerr << "fake_server " << opts_.name << ": crashing as asked\n";
      std::_Exit(3);
    } else if (name == "garbage") {
      link_->send("garbage in the middle {{{");
      reply(id, text("after garbage"));
    } else if (name == "flood") {
      const auto count = args.value("count", 100);
      for (int i = 0; i < count; ++i) {
        link_->send(protocol::serialize(protocol::make_notification(
            "notifications/message", {{"level", "info"}, {"data", "flood " + std::to_string(i)}})));
      }
      reply(id, text("flooded " + std::to_string(count)));
    } else if (name == "big") {
      reply(id, text(std::string(args.value("bytes", std::size_t{1024}), 'x')));
    } else if (name == "fail") {
      auto r = text("this tool failed on purpose");
      r["isError"] = true;
      reply(id, std::move(r));
    } else if (name == "rpc_error") {
      link_->send(protocol::serialize(protocol::make_error(id, {-32099, "fake failure", json{{"why", "asked to"}}})));
    } else if (name == "inspect") {
      reply(id, text(json{{"id", id}, {"params", params}}.dump()));
    } else if (name == "progress") {
      const auto token = params.value(json::json_pointer("/_meta/progressToken"), json());
      const auto steps = args.value("steps", 3);
      for (int i = 1; i <= steps; ++i) {
        if (!token.is_null()) {
          link_->send(protocol::serialize(protocol::make_notification(
              "notifications/progress", {{"progressToken", token}, {"progress", i}, {"total", steps}})));
        }
        co_await sleep_ms(args.value("step_ms", 1L));
      }
      reply(id, text(json{{"token", token}}.dump()));
    } else if (name == "ask") {
      // Sends a request to the client (through manifold) and returns what came back.
      const auto request_id = outbound_.next_id();
      link_->send(protocol::serialize(protocol::make_request(
          request_id, args.value("method", std::string("sampling/createMessage")),
          args.value("params", json::object()))));
      auto done = co_await outbound_.wait(request_id, std::chrono::steady_clock::now() + std::chrono::seconds(30));
      json r = done.reply.ok() ? text(done.reply.result.dump())
                               : text("error " + done.reply.error->to_json().dump());
      if (!done.reply.ok()) r["isError"] = true;
      reply(id, std::move(r));
    } else if (name == "add_tool") {
      tools_.push_back({{"name", args.value("name", std::string("added"))},
                        {"description", "Added at run time."},
                        {"inputSchema", schema(json::object())}});
      link_->send(protocol::serialize(protocol::make_notification("notifications/tools/list_changed", nullptr)));
      reply(id, text("added"));
    } else if (name == "emit") {
      const auto deep = nested(args.value("depth", std::size_t{30000}));
      for (const auto& line : args.value("stderr", json::array())) {
        std::cerr << line.get<std::string>() << '\n';
      }
      std::cerr.flush();
      for (const auto& line : args.value("lines", json::array())) {
        auto text = line.get<std::string>();
        replace_all(text, "$ID", id.dump());
        replace_all(text, "$DEEP", deep);
        link_->send(std::move(text));
      }
      if (args.value("answer", true)) reply(id, text("emitted"));
    } else if (name == "cancellations") {
      reply(id, text(json(cancelled_).dump()));
    } else if (name == "added" || name.rfind("added-", 0) == 0) {
      reply(id, text(name));
    } else if (name.rfind("gen-", 0) == 0) {
      reply(id, text(name));
    } else {
      link_->send(protocol::serialize(protocol::make_error(id, {-32602, "Unknown tool: " + name, std::nullopt})));
    }
  }

  asio::io_context& io_;
  options opts_;
  int life_ = 1;
  bool misbehaving_ = true;
  int calls_ = 0;
  std::shared_ptr<protocol::channel> link_;
  std::vector<json> tools_;
  manifold::io::request_tracker outbound_;
  std::vector<json> cancelled_;
};

}  // namespace

int main(int argc, char** argv) {
  const auto opts = parse_options(argc, argv);
  if (opts.exit_at_start >= 0) {
    std::cerr << "fake_server: exiting at start as asked\n";
    return opts.exit_at_start;
  }
  if (opts.stubborn) ::signal(SIGTERM, SIG_IGN);
  if (!opts.pid_file.empty()) {
    const auto tmp = opts.pid_file + ".tmp";
    std::FILE* f = std::fopen(tmp.c_str(), "w");
    if (f != nullptr) {
      std::fprintf(f, "%d\n", static_cast<int>(::getpid()));
      std::fclose(f);
      std::rename(tmp.c_str(), opts.pid_file.c_str());
    }
  }
  std::cerr << "fake_server " << opts.name << " up (pid " << ::getpid() << ")\n";
  asio::io_context io(1);
  server s(io, opts);
  asio::co_spawn(io, s.run(), [&io](std::exception_ptr) { io.stop(); });
  io.run();
  return 0;
}
