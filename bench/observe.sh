#!/usr/bin/env bash
# What observability costs per call: the same manifold (release build) in front of the fake
# upstream, with metrics, traces (sampled at 100% and at 1%, exported to a local OTLP
# receiver), the tap (a `manifold tap` subscriber attached) and all of them, each against
# everything off. Latency at 1 call in flight (p50) and calls/s at 64 in flight, over stdio
# (one host session) and over HTTP (one session).
#
# On a shared machine the load drifts while the benchmark runs, so every configuration runs
# between two runs with everything off (off, A, off, B, off, ...), and its cost in one
# repetition is its difference from the mean of those two neighbours. The table gives the
# median over REPS repetitions (default 3) of those paired differences, and the median of
# the absolute figures.
#
#   bash bench/observe.sh          writes bench/out/observe.jsonl and prints a table
#   TRANSPORTS=stdio REPS=7 bash bench/observe.sh    one transport, more repetitions
#   CONFIGS="metrics" ...          only these configurations (each still between two offs)
#   MANIFOLD_BENCH_PREBUILT=1 ...  use build/release as it is
#
# A benchmark, not a test: nothing here fails on a number.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
reps=${REPS:-3}
transports=${TRANSPORTS:-stdio http}
# CONFIGS: a subset of metrics traces100 traces1 tap all (tap: HTTP only).
configs=${CONFIGS:-metrics traces100 traces1 tap all}
stdio_configs=$(for c in $configs; do [ "$c" != tap ] && echo "$c"; done || true)
http_configs=$configs
calls1=${CALLS1:-20000}     # calls per run at 1 in flight
calls64=${CALLS64:-100000}  # calls per run at 64 in flight

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
  line=$(printf '%s' "$4" | "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);o.transport=process.argv[1];o.config=process.argv[2];o.inflight=Number(process.argv[3]);o.rep=Number(process.env.BENCH_REP);o.seq=Number(process.env.BENCH_SEQ);console.log(JSON.stringify(o))})' "$1" "$2" "$3")
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
  record http "$name" 1 "$("$loadgen" http --url "http://127.0.0.1:$port/mcp" --sessions 1 --inflight 1 --calls "$calls1" --seconds 0)"
  record http "$name" 64 "$("$loadgen" http --url "http://127.0.0.1:$port/mcp" --sessions 1 --inflight 64 --calls "$calls64" --seconds 0)"
  [ -n "$tpid" ] && stop "$tpid"
  stop "$mpid"
}

stdio_run() {
  local name=$1
  record stdio "$name" 1 "$("$loadgen" stdio --inflight 1 --calls "$calls1" --seconds 0 -- "$manifold" --log-level warn serve --config "$work/$name.yaml" 2>/dev/null)"
  record stdio "$name" 64 "$("$loadgen" stdio --inflight 64 --calls "$calls64" --seconds 0 -- "$manifold" --log-level warn serve --config "$work/$name.yaml" 2>/dev/null)"
}

# One repetition: off, then each configuration followed by off again. `seq` numbers the runs
# so that the report can find each configuration's neighbours.
seq_no=0
for rep in $(seq 1 "$reps"); do
  echo "bench: repetition $rep of $reps" >&2
  if [[ " $transports " == *" stdio "* ]]; then
    for name in off $(for c in $stdio_configs; do echo "$c off"; done); do
      seq_no=$((seq_no + 1)); export BENCH_REP=$rep BENCH_SEQ=$seq_no; stdio_run "$name"
    done
  fi
  if [[ " $transports " == *" http "* ]]; then
    for name in off $(for c in $http_configs; do echo "$c off"; done); do
      seq_no=$((seq_no + 1)); export BENCH_REP=$rep BENCH_SEQ=$seq_no; http_run "$name"
    done
  fi
done

"$node" -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const median = (a) => { const s = [...a].sort((x, y) => x - y); return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2; };
const names = { off: "all off", metrics: "metrics on", traces100: "traces on, 100% sampled", traces1: "traces on, 1% sampled",
  tap: "tap attached", all: "metrics + page + traces 1% + tap" };
// The paired differences of configuration c on transport t: each run against the mean of the
// off runs just before and just after it (same repetition, same in-flight count).
const paired = (t, c, n, f) => rows.filter((r) => r.transport === t && r.config === c && r.inflight === n).map((r) => {
  const near = rows.filter((o) => o.transport === t && o.config === "off" && o.inflight === n && o.rep === r.rep && Math.abs(o.seq - r.seq) === 1);
  const base = near.reduce((sum, o) => sum + o[f], 0) / near.length;
  return f === "calls_per_s" ? (r[f] / base - 1) * 100 : r[f] - base;
});
const abs = (t, c, n, f) => median(rows.filter((r) => r.transport === t && r.config === c && r.inflight === n).map((r) => r[f]));
const reps = new Set(rows.map((r) => r.rep)).size;
console.log(`Medians over ${reps} repetitions; "added" and "vs off" are the medians of the paired differences (min..max in brackets).`);
console.log("");
console.log("| transport | configuration | p50 at 1 in flight | added p50 | calls/s at 64 in flight | throughput vs off |");
console.log("| --- | --- | --- | --- | --- | --- |");
const range = (a, d, unit) => `[${Math.min(...a).toFixed(d)}..${Math.max(...a).toFixed(d)}]`;
for (const t of ["stdio", "http"]) {
  for (const c of Object.keys(names)) {
    if (!rows.some((r) => r.transport === t && r.config === c)) continue;
    const p = abs(t, c, 1, "p50_us"), cps = abs(t, c, 64, "calls_per_s");
    let dp = "", dc = "";
    if (c !== "off") {
      const a = paired(t, c, 1, "p50_us"), b = paired(t, c, 64, "calls_per_s");
      const sign = (x) => (x >= 0 ? "+" : "");
      dp = `${sign(median(a))}${median(a).toFixed(1)} µs ${range(a, 1)}`;
      dc = `${sign(median(b))}${median(b).toFixed(1)}% ${range(b, 1)}`;
    }
    console.log(`| ${t} | ${names[c]} | ${p.toFixed(1)} µs | ${dp} | ${Math.round(cps).toLocaleString("en-US")} | ${dc} |`);
  }
}' "$results" | tee "$out/observe.md"
