#!/usr/bin/env bash
# What observability costs per call: the same manifold (release build) in front of the fake
# upstream, with metrics, traces (sampled at 100% and at 1%, exported to a local OTLP
# receiver), the tap (a `manifold tap` subscriber attached) and all of them, each against the
# same run with everything off. Latency at 1 call in flight (p50) and calls/s at 64 in flight,
# over stdio (one host session) and over HTTP (one session). Runs are interleaved and
# repeated (REPS, default 3); medians are reported.
#
#   bash bench/observe.sh          writes bench/out/observe.jsonl and prints a table
#   TRANSPORTS=stdio REPS=7 bash bench/observe.sh    one transport, more repetitions
#
# A benchmark, not a test: nothing here fails on a number.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
reps=${REPS:-3}
transports=${TRANSPORTS:-stdio http}

if [ -z "${MANIFOLD_BENCH_PREBUILT:-}" ]; then
  cmake --preset release >/dev/null
  cmake --build --preset release -j "$(nproc)" --target manifold fake_mcp_server manifold_loadgen
fi
build=$root/build/release
manifold=$build/app/manifold
fake=$build/tests/fake_mcp_server
loadgen=$build/bench/manifold_loadgen
node=$root/tests/e2e/node_modules/.bin/node

out=$root/bench/out
work=$(mktemp -d)
mkdir -p "$out"
results=$out/observe.jsonl
: > "$results"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

wait_file() {
  for _ in $(seq 1 300); do [ -s "$1" ] && return 0; sleep 0.05; done
  echo "bench: $1 never appeared" >&2
  return 1
}
stop() { kill "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }

# An OTLP/HTTP receiver that accepts every post (the collector's side costs nothing here).
"$node" -e '
const s = require("http").createServer((q, r) => { q.resume(); q.on("end", () => r.writeHead(200, {"Content-Type": "application/json"}).end("{}")); });
s.listen(0, "127.0.0.1", () => require("fs").writeFileSync(process.argv[1], String(s.address().port)));' "$work/otlp.port" &
pids+=($!)
wait_file "$work/otlp.port"
otlp="http://127.0.0.1:$(cat "$work/otlp.port")/v1/traces"

# config NAME BODY: a config with the fake upstream and BODY's observability settings.
config() {
  cat > "$work/$1.yaml" <<EOF
naming: {prefix: never}
servers:
  fake: {command: "$fake"}
$2
EOF
}
off="metrics: {enabled: false}
ui: {enabled: false}"
config off "$off"
config metrics "ui: {enabled: false}"
config traces100 "metrics: {enabled: false}
ui: {enabled: false}
tracing: {otlp_endpoint: \"$otlp\", sample_ratio: 1.0, batch_interval: 1s}"
config traces1 "metrics: {enabled: false}
ui: {enabled: false}
tracing: {otlp_endpoint: \"$otlp\", sample_ratio: 0.01, batch_interval: 1s}"
config tap "$off
tap: {enabled: true}"
config all "tracing: {otlp_endpoint: \"$otlp\", sample_ratio: 0.01, batch_interval: 1s}
tap: {enabled: true}"

record() {
  local line
  line=$(printf '%s' "$4" | "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);o.transport=process.argv[1];o.config=process.argv[2];o.inflight=Number(process.argv[3]);console.log(JSON.stringify(o))})' "$1" "$2" "$3")
  echo "$line" >> "$results"
  echo "  $line" >&2
}

# HTTP: manifold serving NAME, with a tap subscriber when the config has one.
http_run() {
  local name=$1 mpid tpid=""
  rm -f "$work/port"
  "$manifold" --log-level warn serve --config "$work/$name.yaml" --listen 127.0.0.1:0 --port-file "$work/port" 2>>"$work/manifold.log" &
  mpid=$!
  pids+=("$mpid")
  wait_file "$work/port"
  local port
  port=$(cat "$work/port")
  if grep -q "tap:" "$work/$name.yaml"; then
    "$manifold" tap --url "http://127.0.0.1:$port" > "$work/tap.out" 2>>"$work/tap.log" &
    tpid=$!
    pids+=("$tpid")
    # Attached once its first record (the start line) is out.
    for _ in $(seq 1 300); do [ -s "$work/tap.out" ] && break; sleep 0.05; done
  fi
  record http "$name" 1 "$("$loadgen" http --url "http://127.0.0.1:$port/mcp" --sessions 1 --inflight 1 --calls 20000 --seconds 0)"
  record http "$name" 64 "$("$loadgen" http --url "http://127.0.0.1:$port/mcp" --sessions 1 --inflight 64 --calls 100000 --seconds 0)"
  [ -n "$tpid" ] && stop "$tpid"
  stop "$mpid"
}

stdio_run() {
  local name=$1
  record stdio "$name" 1 "$("$loadgen" stdio --inflight 1 --calls 20000 --seconds 0 -- "$manifold" --log-level warn serve --config "$work/$name.yaml" 2>/dev/null)"
  record stdio "$name" 64 "$("$loadgen" stdio --inflight 64 --calls 100000 --seconds 0 -- "$manifold" --log-level warn serve --config "$work/$name.yaml" 2>/dev/null)"
}

for rep in $(seq 1 "$reps"); do
  echo "bench: repetition $rep of $reps" >&2
  if [[ " $transports " == *" stdio "* ]]; then
    for name in off metrics traces100 traces1 all; do stdio_run "$name"; done
  fi
  if [[ " $transports " == *" http "* ]]; then
    for name in off metrics traces100 traces1 tap all; do http_run "$name"; done
  fi
done

"$node" -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[Math.floor(s.length / 2)]; };
const pick = (t, c, n, f) => median(rows.filter((r) => r.transport === t && r.config === c && r.inflight === n).map((r) => r[f]));
const names = { off: "all off", metrics: "metrics on", traces100: "traces on, 100% sampled", traces1: "traces on, 1% sampled",
  tap: "tap attached", all: "metrics + page + traces 1% + tap" };
console.log("| transport | configuration | p50 at 1 in flight | added p50 | calls/s at 64 in flight | throughput vs off |");
console.log("| --- | --- | --- | --- | --- | --- |");
for (const t of ["stdio", "http"]) {
  const p0 = pick(t, "off", 1, "p50_us"), c0 = pick(t, "off", 64, "calls_per_s");
  for (const c of Object.keys(names)) {
    if (!rows.some((r) => r.transport === t && r.config === c)) continue;
    const p = pick(t, c, 1, "p50_us"), cps = pick(t, c, 64, "calls_per_s");
    const dp = c === "off" ? "" : `${p - p0 >= 0 ? "+" : ""}${(p - p0).toFixed(1)} µs`;
    const dc = c === "off" ? "" : `${((cps / c0 - 1) * 100).toFixed(1)}%`;
    console.log(`| ${t} | ${names[c]} | ${p.toFixed(1)} µs | ${dp} | ${Math.round(cps).toLocaleString("en-US")} | ${dc} |`);
  }
}' "$results" | tee "$out/observe.md"
