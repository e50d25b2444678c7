#!/usr/bin/env bash
# Every benchmark, end to end, on this machine: installs what it needs, builds the release
# preset, runs the scenarios of bench/README (each beside its direct baseline, in one run),
# the micro-benchmarks, and writes bench/out/results.jsonl, bench/out/micro.json and the
# tables in bench/out/results.md (printed at the end).
#
#   bash bench/run.sh            all scenarios, 3 repetitions each (medians reported)
#   REPS=1 bash bench/run.sh     one repetition (quicker, noisier)
#
# Benchmarks, not tests: nothing here fails on a number.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
reps=${REPS:-3}

if [ -z "${MANIFOLD_BENCH_NETNS:-}" ]; then
  bash scripts/setup.sh
  if ! dpkg-query -W -f='${Status}' libbenchmark-dev 2>/dev/null | grep -q "install ok installed"; then
    echo "bench: installing libbenchmark-dev" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends libbenchmark-dev >/dev/null
  fi
  if [ ! -x bench/peers/node_modules/.bin/mcp-hub ] || [ bench/peers/package-lock.json -nt bench/peers/node_modules/.package-lock.json ]; then
    echo "bench: installing bench peers from bench/peers/package-lock.json" >&2
    (cd bench/peers && npm ci --no-audit --no-fund --loglevel=error)
  fi

  cmake --preset release >/dev/null
  cmake --build --preset release -j "$(nproc)" --target manifold fake_mcp_server manifold_loadgen manifold_micro bench_http_echo

  # The measurements run in a network namespace of their own with only loopback up, so that
  # peers which bind every interface (mcp-hub cannot be told otherwise) stay on loopback.
  if command -v unshare >/dev/null && command -v ip >/dev/null && unshare --net true 2>/dev/null; then
    exec unshare --net env MANIFOLD_BENCH_NETNS=1 bash -c 'ip link set lo up && exec bash "$0"' "$root/bench/run.sh"
  fi
  echo "bench: no network namespace here (unshare/ip): peers bind as they choose" >&2
fi

build=$root/build/release
manifold=$build/app/manifold
fake=$build/tests/fake_mcp_server
loadgen=$build/bench/manifold_loadgen
http_echo=$build/bench/bench_http_echo
node=$root/tests/e2e/node_modules/.bin/node
everything=$root/tests/e2e/node_modules/@modelcontextprotocol/server-everything/dist/index.js
hub=$root/bench/peers/node_modules/.bin/mcp-hub

out=$root/bench/out
work=$(mktemp -d)
mkdir -p "$out"
results=$out/results.jsonl
: > "$results"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
ulimit -n 65536 2>/dev/null || true

# record SCENARIO LABEL JSON: one result line, tagged.
record() {
  local line
  line=$(printf '%s' "$3" | "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);o.scenario=process.argv[1];o.label=process.argv[2];console.log(JSON.stringify(o))})' "$1" "$2")
  echo "$line" >> "$results"
  echo "  $line" >&2
}

# wait_file PATH: until a port or pid file exists (bounded).
wait_file() {
  for _ in $(seq 1 300); do [ -s "$1" ] && return 0; sleep 0.05; done
  echo "bench: $1 never appeared" >&2
  return 1
}

# A free loopback port (for mcp-hub, which cannot bind port 0).
free_port() {
  "$node" -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

rss_kb() { awk '/^VmRSS:/{print $2}' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/{print $2}' "/proc/$1/status"; }

# start_manifold_http CONFIG: serves CONFIG over HTTP; sets mpid and mport.
start_manifold_http() {
  rm -f "$work/port"
  "$manifold" --log-level warn serve --config "$1" --listen 127.0.0.1:0 --port-file "$work/port" 2>>"$work/manifold.log" &
  mpid=$!
  pids+=("$mpid")
  wait_file "$work/port"
  mport=$(cat "$work/port")
}

start_http_echo() {
  rm -f "$work/eport"
  "$http_echo" "$work/eport" &
  epid=$!
  pids+=("$epid")
  wait_file "$work/eport"
  eport=$(cat "$work/eport")
}

stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

cat > "$work/one.yaml" <<EOF
naming: {prefix: never}
http: {max_sessions: 5000}
servers:
  fake: {command: "$fake"}
EOF

echo "bench: 1. stdio host -> manifold -> stdio upstream, beside host -> upstream" >&2
for rep in $(seq 1 "$reps"); do
  for c in 1 8 64; do
    calls=$((c == 1 ? 20000 : 100000))
    record stdio "direct c=$c" "$("$loadgen" stdio --inflight $c --calls $calls --seconds 0 -- "$fake" 2>/dev/null)"
    record stdio "manifold c=$c" "$("$loadgen" stdio --inflight $c --calls $calls --seconds 0 -- "$manifold" --log-level warn serve --config "$work/one.yaml" 2>/dev/null)"
  done
done

echo "bench: 2. HTTP host -> manifold -> stdio upstream, beside HTTP host -> HTTP upstream" >&2
for rep in $(seq 1 "$reps"); do
  start_http_echo
  start_manifold_http "$work/one.yaml"
  for s in 1 10 100 1000; do
    calls=$((s == 1 ? 20000 : 50000))
    record http "direct s=$s" "$("$loadgen" http --url "http://127.0.0.1:$eport/mcp" --sessions $s --calls $calls --seconds 0)"
    record http "manifold s=$s" "$("$loadgen" http --url "http://127.0.0.1:$mport/mcp" --sessions $s --calls $calls --seconds 0)"
  done
  stop "$mpid"
  stop "$epid"
done

echo "bench: 3. memory: idle with 10 upstreams, and per idle HTTP session" >&2
{
  echo "naming: {prefix: always}"
  echo "http: {max_sessions: 5000}"
  echo "servers:"
  for i in $(seq -w 1 10); do echo "  s$i: {command: \"$fake\"}"; done
} > "$work/ten.yaml"
for rep in $(seq 1 "$reps"); do
  record memory "10 upstreams idle (stdio)" "$("$loadgen" catalog -- "$manifold" --log-level warn serve --config "$work/ten.yaml" 2>/dev/null)"
  start_manifold_http "$work/ten.yaml"
  record memory "1000 idle HTTP sessions" "$("$loadgen" idle --url "http://127.0.0.1:$mport/mcp" --sessions 1000 --rss-pid "$mpid")"
  stop "$mpid"
done

echo "bench: 4. cold start: 10 upstreams, each answering initialize after 200 ms" >&2
{
  echo "servers:"
  for i in $(seq -w 1 10); do echo "  s$i: {command: \"$fake\", args: [--init-delay-ms, \"200\"]}"; done
} > "$work/cold.yaml"
for rep in $(seq 1 "$reps"); do
  record cold "one upstream directly" "$("$loadgen" catalog -- "$fake" --init-delay-ms 200 2>/dev/null)"
  record cold "manifold, 10 upstreams" "$("$loadgen" catalog -- "$manifold" --log-level warn serve --config "$work/cold.yaml" 2>/dev/null)"
done

echo "bench: 5. catalog scale: 100 upstreams x 500 tools" >&2
{
  echo "servers:"
  for i in $(seq -w 1 100); do echo "  s$i: {command: \"$fake\", args: [--tools, \"500\", --page-size, \"500\"]}"; done
} > "$work/scale.yaml"
for rep in $(seq 1 "$reps"); do
  record scale "manifold, 100 x 500 tools" "$("$loadgen" catalog -- "$manifold" --log-level warn serve --config "$work/scale.yaml" 2>/dev/null)"
done

echo "bench: 6. peers: the Node SDK client against server-everything, directly and fronted" >&2
cat > "$work/everything.yaml" <<EOF
naming: {prefix: never}
servers:
  everything: {command: "$node", args: ["$everything", stdio]}
EOF
printf '{"mcpServers":{"everything":{"command":"%s","args":["%s","stdio"]}}}\n' "$node" "$everything" > "$work/hub.json"
peers() {  # LABEL INFLIGHT CALLS MODE TARGET...
  local label=$1 inflight=$2 calls=$3
  shift 3
  record peers "$label c=$inflight" "$("$node" --no-warnings bench/peers.mjs --label "$label" --inflight "$inflight" --calls "$calls" "$@")"
}
for rep in $(seq 1 "$reps"); do
  hub_port=$(free_port)
  HOME=$work "$hub" --port "$hub_port" --config "$work/hub.json" > "$work/hub.log" 2>&1 &
  hub_pid=$!
  pids+=("$hub_pid")
  for _ in $(seq 1 300); do
    grep -q 'servers started successfully' "$work/hub.log" 2>/dev/null && break
    sleep 0.05
  done
  start_manifold_http "$work/everything.yaml"
  hub_idle=$(rss_kb "$hub_pid")
  manifold_idle=$(rss_kb "$mpid")
  for c in 1 16; do
    calls=$((c == 1 ? 2000 : 10000))
    peers "direct (stdio)" $c $calls stdio "$node" "$everything" stdio
    peers "manifold (stdio)" $c $calls stdio "$manifold" --log-level warn serve --config "$work/everything.yaml"
    peers "mcp-hub (sse)" $c $calls sse "http://127.0.0.1:$hub_port/mcp"
    peers "manifold (sse)" $c $calls sse "http://127.0.0.1:$mport/sse"
    peers "manifold (http)" $c $calls http "http://127.0.0.1:$mport/mcp"
  done
  # The same comparison with a client that is not the bottleneck (the Node client saturates a
  # core first): the load generator on the legacy SSE transport, the one mcp-hub serves.
  for c in 1 16; do
    record peers-fast "mcp-hub (sse) c=$c" "$("$loadgen" sse --url "http://127.0.0.1:$hub_port/mcp" --inflight $c --calls 5000 --seconds 0 --tool everything__echo --args '{"message":"hello manifold"}')"
    record peers-fast "manifold (sse) c=$c" "$("$loadgen" sse --url "http://127.0.0.1:$mport/sse" --inflight $c --calls 5000 --seconds 0 --tool echo --args '{"message":"hello manifold"}')"
  done
  record peers-memory "mcp-hub" "{\"rss_idle_kb\":$hub_idle,\"rss_peak_kb\":$(hwm_kb "$hub_pid")}"
  record peers-memory "manifold" "{\"rss_idle_kb\":$manifold_idle,\"rss_peak_kb\":$(hwm_kb "$mpid")}"
  stop "$hub_pid"
  stop "$mpid"
done

echo "bench: micro-benchmarks (Google Benchmark)" >&2
"$build/bench/manifold_micro" --benchmark_repetitions="$reps" --benchmark_report_aggregates_only=true \
  --benchmark_out="$out/micro.json" --benchmark_out_format=json >&2

if command -v nginx >/dev/null || [ -x /usr/sbin/nginx ]; then
  echo "bench: replicas behind nginx (sealed sessions)" >&2
  "$node" bench/scale_out.mjs "$manifold" "$loadgen" "$fake" "$reps" > "$out/scale_out.md"
fi

"$node" bench/report.mjs "$results" "$out/micro.json" > "$out/results.md"
cat "$out/results.md"
if [ -f "$out/scale_out.md" ]; then cat "$out/scale_out.md"; fi
