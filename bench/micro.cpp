// Google Benchmark micro-benchmarks for the hot paths of a relayed call: framing, JSON-RPC
// parse and serialize, request id remapping, task id and URI remapping, catalog build and
// lookup, policy evaluation, and the observability added to a call (metrics, spans, tap).
#include <benchmark/benchmark.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <memory>
#include <string>
#include <vector>

#include "manifold/io/request_tracker.hpp"
#include "manifold/namespace/catalog.hpp"
#include "manifold/namespace/view.hpp"
#include "manifold/namespace/naming.hpp"
#include "manifold/namespace/task_ids.hpp"
#include "call_observer.hpp"
#include "manifold/observe/metrics.hpp"
#include "manifold/observe/otlp_exporter.hpp"
#include "manifold/observe/telemetry.hpp"
#include "manifold/observe/span.hpp"
#include "manifold/observe/tap.hpp"
#include "manifold/protocol/json_rpc.hpp"
#include "manifold/protocol/line_framer.hpp"
#include "manifold/proxy/relay.hpp"

namespace asio = boost::asio;
namespace ns = manifold::ns;
namespace protocol = manifold::protocol;
using protocol::json;

namespace {

const std::string call_text =
    R"({"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"everything__echo",)"
    R"("arguments":{"text":"hello manifold"},"_meta":{"progressToken":"tok-7"}}})";
const std::string reply_text =
    R"({"jsonrpc":"2.0","id":42,"result":{"content":[{"type":"text","text":"Echo: hello manifold"}]}})";

// Bytes of a pipe read: many messages, split at arbitrary points.
void BM_LineFramer(benchmark::State& state) {
  std::string stream;
  for (int i = 0; i < 64; ++i) stream += reply_text + "\n";
  const auto chunk = static_cast<std::size_t>(state.range(0));
  std::size_t frames = 0;
  for (auto _ : state) {
    protocol::line_framer framer;
    for (std::size_t at = 0; at < stream.size(); at += chunk) {
      framer.append(std::string_view(stream).substr(at, chunk));
      while (auto f = framer.next()) {
        benchmark::DoNotOptimize(f->text.data());
        ++frames;
      }
    }
  }
  state.SetItemsProcessed(static_cast<std::int64_t>(frames));
  state.SetBytesProcessed(state.iterations() * static_cast<std::int64_t>(stream.size()));
}
BENCHMARK(BM_LineFramer)->Arg(512)->Arg(65536);

void BM_ParseRequest(benchmark::State& state) {
  for (auto _ : state) {
    auto outcome = protocol::parse_message(call_text);
    benchmark::DoNotOptimize(outcome.msg);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseRequest);

void BM_ParseReply(benchmark::State& state) {
  for (auto _ : state) {
    auto outcome = protocol::parse_message(reply_text);
    benchmark::DoNotOptimize(outcome.msg);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseReply);

void BM_SerializeReply(benchmark::State& state) {
  const json reply = json::parse(reply_text);
  for (auto _ : state) {
    auto text = protocol::serialize(reply);
    benchmark::DoNotOptimize(text.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SerializeReply);

// The upstream side of a relayed call's id mapping: mint an id, wait for it, deliver the
// reply that carries it, resume the waiter.
void BM_RequestIdRoundTrip(benchmark::State& state) {
  asio::io_context io;
  manifold::io::request_tracker tracker;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::hours(1);
  const json result = json::parse(reply_text)["result"];
  std::size_t replied = 0;
  for (auto _ : state) {
    const auto id = tracker.next_id();
    asio::co_spawn(io, [&, id]() -> asio::awaitable<void> {
      auto r = co_await tracker.wait(id, deadline);
      if (r.how == manifold::io::request_tracker::outcome::replied) ++replied;
    }, asio::detached);
    io.poll();
    tracker.deliver(json(id), protocol::rpc_reply{result, std::nullopt});
    io.poll();
    io.restart();
  }
  if (replied != static_cast<std::size_t>(state.iterations())) state.SkipWithError("a reply was lost");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RequestIdRoundTrip);

void BM_TaskIdRemap(benchmark::State& state) {
  for (auto _ : state) {
    auto exposed = ns::expose_task_id("everything", "786512e2-9e0d-44bd-8f29-789f320fe840");
    auto back = ns::resolve_task_id(exposed);
    benchmark::DoNotOptimize(back);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TaskIdRemap);

std::vector<ns::upstream_listing> listings(std::size_t servers, std::size_t tools_each) {
  std::vector<ns::upstream_listing> out;
  for (std::size_t s = 0; s < servers; ++s) {
    ns::upstream_listing u;
    u.server = "server" + std::to_string(s);
    u.namespace_ = u.server;
    for (std::size_t t = 0; t < tools_each; ++t) {
      u.tools.push_back(json{{"name", "tool_" + std::to_string(t)},
                             {"description", "Generated tool number " + std::to_string(t)},
                             {"inputSchema", {{"type", "object"}, {"properties", {{"text", {{"type", "string"}}}}}}}});
    }
    u.resources.push_back(json{{"uri", "file:///srv/" + u.server + "/readme.md"}, {"name", "readme"}});
    out.push_back(std::move(u));
  }
  return out;
}

// 100 upstreams x 500 tools = 50,000 tools, prefixed (the default). The build only: the
// previous catalog is destroyed outside the timing (BM_CatalogDestroy measures that).
void BM_CatalogBuild(benchmark::State& state) {
  const auto input = listings(static_cast<std::size_t>(state.range(0)), static_cast<std::size_t>(state.range(1)));
  ns::naming_options naming;
  for (auto _ : state) {
    auto c = std::make_unique<ns::catalog>(ns::build_catalog(input, naming));
    benchmark::DoNotOptimize(c->tools().data());
    state.PauseTiming();
    c.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * state.range(0) * state.range(1));
}
BENCHMARK(BM_CatalogBuild)->Args({10, 50})->Args({100, 500})->Unit(benchmark::kMillisecond);

// Releasing a 50,000-tool catalog (what a reload does with the one it replaces).
void BM_CatalogDestroy(benchmark::State& state) {
  const auto input = listings(100, 500);
  for (auto _ : state) {
    state.PauseTiming();
    auto c = std::make_unique<ns::catalog>(ns::build_catalog(input, ns::naming_options{}));
    state.ResumeTiming();
    c.reset();
  }
  state.SetItemsProcessed(state.iterations() * 50000);
}
BENCHMARK(BM_CatalogDestroy)->Unit(benchmark::kMillisecond);

// The same, with prefix `when_needed`: every name collides across servers.
void BM_CatalogBuildWhenNeeded(benchmark::State& state) {
  const auto input = listings(100, 500);
  ns::naming_options naming;
  naming.prefix = ns::prefix_mode::when_needed;
  for (auto _ : state) {
    auto c = std::make_unique<ns::catalog>(ns::build_catalog(input, naming));
    benchmark::DoNotOptimize(c->tools().data());
    state.PauseTiming();
    c.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(state.iterations() * 50000);
}
BENCHMARK(BM_CatalogBuildWhenNeeded)->Unit(benchmark::kMillisecond);

// Routing a call: exposed name -> upstream and original name, in a 50,000-tool catalog.
void BM_CatalogFindTool(benchmark::State& state) {
  const auto c = ns::build_catalog(listings(100, 500), ns::naming_options{});
  std::vector<std::string> names;
  for (int i = 0; i < 1024; ++i) names.push_back("server" + std::to_string(i % 100) + "__tool_" + std::to_string((i * 7) % 500));
  std::size_t i = 0;
  for (auto _ : state) {
    const auto* e = c.find_tool(names[i++ & 1023]);
    benchmark::DoNotOptimize(e);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_CatalogFindTool);

// Resource URIs both ways: the host-visible URI and back to the upstream's.
void BM_UriRemap(benchmark::State& state) {
  const auto c = ns::build_catalog(listings(100, 1), ns::naming_options{});
  for (auto _ : state) {
    auto exposed = c.expose_uri("server57", "file:///srv/server57/readme.md");
    auto back = c.resolve_uri(exposed);
    benchmark::DoNotOptimize(back);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_UriRemap);

// A server's tool policy (allow/deny globs) applied to one name.
void BM_PolicyFilter(benchmark::State& state) {
  ns::entry_filter filter;
  filter.allow = {"get_*", "list_*", "describe_*", "kubectl_*"};
  filter.deny = {"*delete*", "*secret*", "kubectl_exec*"};
  const std::vector<std::string> names = {"kubectl_get_pods", "kubectl_delete_pod", "list_buckets",
                                          "kubectl_exec", "put_object", "get_secret_value"};
  std::size_t i = 0;
  for (auto _ : state) {
    std::string rule;
    const bool ok = ns::passes(filter, names[i++ % names.size()], "tools", &rule);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_PolicyFilter);

// A group's include/exclude globs (evaluated once per entry when a view is built).
void BM_GroupAdmits(benchmark::State& state) {
  const ns::name_filter group({"k8s__get_*", "k8s__list_*", "aws__describe_*", "github__*"},
                              {"*delete*", "github__merge_*"});
  const std::vector<std::string> names = {"k8s__get_pods", "k8s__delete_pod", "aws__describe_instances",
                                          "github__merge_pull_request", "github__list_issues", "helm__install"};
  std::size_t i = 0;
  for (auto _ : state) {
    const bool ok = group.admits(ns::entry_kind::tool, names[i++ % names.size()]);
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_GroupAdmits);

// A session's view of a catalog of N tools behind a group: built once per catalog, then a
// lookup per call.
std::shared_ptr<const ns::catalog> catalog_of(std::size_t tools) {
  std::vector<ns::upstream_listing> listings(1);
  listings[0].server = "k8s";
  listings[0].namespace_ = "k8s";
  for (std::size_t t = 0; t < tools; ++t) {
    listings[0].tools.push_back({{"name", (t % 3 == 0 ? "delete_" : "get_") + std::to_string(t)},
                                 {"inputSchema", {{"type", "object"}}}});
  }
  return std::make_shared<const ns::catalog>(ns::build_catalog(listings, {}));
}

void BM_ViewBuild(benchmark::State& state) {
  const auto catalog = catalog_of(static_cast<std::size_t>(state.range(0)));
  const std::vector<std::shared_ptr<const ns::admission>> rules{
      std::make_shared<ns::name_filter>(std::vector<std::string>{"k8s__*"},
                                        std::vector<std::string>{"*delete*"})};
  for (auto _ : state) {
    const ns::view v(catalog, rules, {});
    benchmark::DoNotOptimize(v.entries(ns::entry_kind::tool).size());
  }
  state.SetItemsProcessed(state.iterations() * state.range(0));
}
BENCHMARK(BM_ViewBuild)->Arg(100)->Arg(10'000);

void BM_ViewLookup(benchmark::State& state) {
  const auto catalog = catalog_of(10'000);
  const ns::view v(catalog,
                   {std::make_shared<ns::name_filter>(std::vector<std::string>{"k8s__*"},
                                                      std::vector<std::string>{"*delete*"})},
                   {});
  std::size_t i = 0;
  for (auto _ : state) {
    const auto* t = v.tool("k8s__get_" + std::to_string(1 + (i++ % 3000) * 3));
    benchmark::DoNotOptimize(t);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ViewLookup);

// Observability on one relayed call: the host-side and upstream-side histograms and counters
// of a tools/call, and the upstream's in-flight gauge (the work metrics add to a call).
void BM_MetricsRecordCall(benchmark::State& state) {
  manifold::observe::metrics m({.process_metrics = false});
  std::vector<std::string> tools;
  for (int i = 0; i < 200; ++i) tools.push_back("everything__tool" + std::to_string(i));
  tools.emplace_back("everything__echo");
  m.set_exposed_tools(tools);
  const std::string method = "tools/call";
  const std::string tool = "everything__echo";
  const std::string upstream = "everything";
  const std::chrono::microseconds server_latency(180);
  const std::chrono::microseconds client_latency(150);
  for (auto _ : state) {
    auto& up = m.upstream(upstream);
    up.call_started();
    m.record_client_call(method, tool, upstream, manifold::observe::call_outcome::ok, client_latency);
    up.call_finished();
    m.record_server_call(method, tool, upstream, manifold::observe::call_outcome::ok, server_latency);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MetricsRecordCall);

// Tracing one relayed call: the host's traceparent read from `_meta`, a server and a client
// span, the new traceparent written into the upstream request, both spans finished into a
// sink (range 0: sampled, 1: not sampled).
void BM_TraceCall(benchmark::State& state) {
  struct discard final : manifold::observe::span_sink {
    void export_span(manifold::observe::span&& s) override { benchmark::DoNotOptimize(s.name.data()); }
  } sink;
  const manifold::observe::tracer tracer(1.0, &sink);
  const char* flags = state.range(0) == 0 ? "01" : "00";
  json params{{"name", "everything__echo"},
              {"arguments", {{"text", "hello"}}},
              {"_meta", {{"traceparent", std::string("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-") + flags}}}};
  const json id = 42;
  json upstream_params{{"name", "echo"}, {"arguments", {{"text", "hello"}}}};
  for (auto _ : state) {
    const auto parent = manifold::observe::extract_context(params);
    auto server = tracer.start_server({.method = "tools/call", .tool = "everything__echo", .request_id = &id,
                                       .session_id = "0123456789abcdef", .protocol_version = "2025-06-18",
                                       .network_transport = "pipe"},
                                      parent);
    auto client = tracer.start_client({.method = "tools/call", .tool = "echo", .request_id = &id,
                                       .network_transport = "pipe", .upstream = "everything"},
                                      server);
    manifold::observe::inject_meta(upstream_params, client.context());
    tracer.finish(std::move(client));
    tracer.finish(std::move(server));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TraceCall)->Arg(0)->Arg(1);

// The tap on one message: no subscriber (the check the relay pays always), and one attached
// subscriber that keeps up (record built, redacted once, pushed, taken).
void BM_TapPublish(benchmark::State& state) {
  manifold::observe::tap tap;
  std::shared_ptr<manifold::observe::tap_subscription> sub;
  if (state.range(0) == 1) sub = tap.subscribe({}, 1024);
  const auto message = json::parse(call_text);
  for (auto _ : state) {
    if (tap.active()) tap.publish(manifold::observe::tap_direction::host_to_manifold, "0123456789abcdef", "", message);
    if (sub) benchmark::DoNotOptimize(sub->take());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TapPublish)->Arg(0)->Arg(1);

// The whole of what the data path adds to one relayed tools/call (proxy/src/call_observer):
// the request read for its method, tool and context, the upstream request's metrics and
// CLIENT span (with its traceparent written into the upstream's params), the host request's
// metrics, SERVER span and recent-call entry. Range: 0 off (no telemetry), 1 metrics,
// 2 metrics and the status page's recent calls, 3 spans sampled (into a sink that keeps
// nothing), 4 spans of an unsampled host trace, 5 everything.
void BM_ObservedCall(benchmark::State& state) {
  namespace observe = manifold::observe;
  struct discard final : observe::span_sink {
    void export_span(observe::span&& s) override { benchmark::DoNotOptimize(s.name.data()); }
  } sink;
  observe::metrics m({.process_metrics = false});
  m.set_exposed_tools({"everything__echo"});
  const observe::tracer tracer(1.0, &sink);
  observe::recent_calls calls;
  observe::status_feed feed;
  observe::telemetry t;
  const auto mode = state.range(0);
  if (mode == 1 || mode == 2 || mode == 5) t.metrics = &m;
  if (mode == 2 || mode == 5) t.calls = &calls;
  if (mode == 2 || mode == 5) t.feed = &feed;
  if (mode == 3 || mode == 4 || mode == 5) t.tracer = &tracer;
  const char* flags = mode == 4 ? "00" : "01";
  const auto request = *manifold::protocol::parse_message(
      R"({"jsonrpc":"2.0","id":42,"method":"tools/call","params":{"name":"everything__echo","arguments":{"text":"hello"},"_meta":{"traceparent":"00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-)" +
      std::string(flags) + R"("}}})").msg;
  const manifold::proxy::request_origin origin{"0123456789abcdef", {"0123456789abcdef", "tcp"}, "2025-11-25"};
  const json result{{"content", json::array({{{"type", "text"}, {"text", "hello"}}})}};
  // The reply exists on the data path anyway: built once, not timed.
  const manifold::protocol::rpc_reply reply{result, std::nullopt};
  for (auto _ : state) {
    manifold::proxy::call_observer observer(mode == 0 ? nullptr : &t, request, origin);
    json upstream_params{{"name", "echo"}, {"arguments", {{"text", "hello"}}}};
    if (observer.on()) {
      auto call = observer.upstream_started("everything", "tools/call", upstream_params);
      observer.upstream_finished(call, "tools/call", reply);
      observer.finished(nullptr, &result, false, "alice");
    }
    benchmark::DoNotOptimize(upstream_params);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ObservedCall)->DenseRange(0, 5);

// One OTLP post of 512 spans of tools/call: the JSON tree dumped (range 0) or the text
// written directly (range 1, what the exporter sends).
void BM_OtlpEncodeBatch(benchmark::State& state) {
  namespace observe = manifold::observe;
  const observe::tracer tracer(1.0, nullptr);
  const json id = 42;
  std::vector<observe::span> spans;
  for (int i = 0; i < 512; ++i) {
    auto s = tracer.start_server({.method = "tools/call", .tool = "everything__echo", .request_id = &id,
                                  .session_id = "0123456789abcdef", .protocol_version = "2025-06-18",
                                  .network_transport = "tcp", .upstream = "everything"},
                                 std::nullopt);
    s.end_unix_nanos = s.start_unix_nanos + 1000;
    spans.push_back(std::move(s));
  }
  const observe::otlp_resource resource{.service_name = "manifold", .service_version = "0.1.0", .instance_id = "1"};
  for (auto _ : state) {
    if (state.range(0) == 0) {
      benchmark::DoNotOptimize(observe::encode_otlp(spans, resource).dump(-1, ' ', false, json::error_handler_t::replace));
    } else {
      benchmark::DoNotOptimize(observe::encode_otlp_text(spans, resource));
    }
  }
  state.SetItemsProcessed(state.iterations() * 512);
}
BENCHMARK(BM_OtlpEncodeBatch)->Arg(0)->Arg(1);

}  // namespace

BENCHMARK_MAIN();
