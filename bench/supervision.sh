#!/usr/bin/env bash
# Supervision figures (bench/RESULTS.md, "Supervision"): the time from an upstream's crash to
# its tools being callable again, a host's initialize latency with one upstream that never
# initializes, and cold start with 10 slow upstreams. Uses an existing build (BUILD, default
# build/ci) and the in-tree fake server; prints one JSON line per run and a summary of
# medians. REPS (default 5) repetitions of each. Not a test: nothing asserts a time.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build/ci}
reps=${REPS:-5}
manifold=$build/app/manifold
fake=$build/tests/fake_mcp_server
loadgen=$build/bench/manifold_loadgen
node=${NODE:-$root/tests/e2e/node_modules/.bin/node}
for f in "$manifold" "$fake" "$loadgen" "$node"; do
  [[ -x $f ]] || { echo "bench/supervision.sh: $f is missing (build the ci preset, run scripts/setup.sh)" >&2; exit 2; }
done
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
results=$work/results.jsonl

record() {  # record GROUP LABEL JSON
  printf '%s' "$3" | "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);o.group=process.argv[1];o.label=process.argv[2];console.log(JSON.stringify(o))})' "$1" "$2" | tee -a "$results" >&2
}

# 1. Crash to callable: `manifold drill --scenario crash-each` kills each of 3 upstreams in
# turn (SIGKILL) and calls its read-only tool every 20 ms until it answers again.
for backoff in 500ms 10ms; do
  {
    echo "lifecycle:"
    echo "  restart: {backoff: $backoff, max_backoff: 30s}"
    echo "servers:"
    for i in 1 2 3; do echo "  s$i: {command: \"$fake\"}"; done
  } > "$work/recovery-$backoff.yaml"
  for rep in $(seq 1 "$reps"); do
    out=$("$manifold" --log-level warn drill --config "$work/recovery-$backoff.yaml" --scenario crash-each --format json 2>/dev/null)
    for ms in $(printf '%s' "$out" | "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{for(const u of JSON.parse(s).upstreams)console.log(u.recoveryMs)})'); do
      record recovery "restart.backoff $backoff" "{\"recovery_ms\": $ms}"
    done
  done
done

# 2. A host's initialize with one upstream that never answers initialize (startup_timeout
# 60s) beside three good ones: answered after lifecycle.initialize_grace.
for grace in default 100ms; do
  {
    [[ $grace == default ]] || printf 'lifecycle:\n  initialize_grace: %s\n' "$grace"
    echo "servers:"
    echo "  mute: {command: \"$fake\", args: [--no-initialize], startup_timeout: 60s}"
    for i in 1 2 3; do echo "  s$i: {command: \"$fake\"}"; done
  } > "$work/mute-$grace.yaml"
  for rep in $(seq 1 "$reps"); do
    record initialize "initialize_grace $grace" "$("$loadgen" catalog -- "$manifold" --log-level warn serve --config "$work/mute-$grace.yaml" 2>/dev/null)"
  done
done

# 3. Cold start: 10 upstreams, each answering initialize after 200 ms (as bench/run.sh 4).
{
  echo "servers:"
  for i in $(seq -w 1 10); do echo "  s$i: {command: \"$fake\", args: [--init-delay-ms, \"200\"]}"; done
} > "$work/cold.yaml"
for rep in $(seq 1 "$reps"); do
  record cold "one upstream directly" "$("$loadgen" catalog -- "$fake" --init-delay-ms 200 2>/dev/null)"
  record cold "manifold, 10 upstreams" "$("$loadgen" catalog -- "$manifold" --log-level warn serve --config "$work/cold.yaml" 2>/dev/null)"
done

"$node" -e '
const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const median = (v) => { v = [...v].sort((a, b) => a - b); const m = v.length >> 1; return v.length % 2 ? v[m] : (v[m - 1] + v[m]) / 2; };
const by = {};
for (const r of rows) (by[`${r.group}|${r.label}`] ??= []).push(r);
console.log("| what | runs | median | min | max |\n| --- | --- | --- | --- | --- |");
for (const [key, rs] of Object.entries(by)) {
  const [group, label] = key.split("|");
  const field = group === "recovery" ? "recovery_ms" : group === "initialize" ? "initialize_ms" : "catalog_ms";
  const v = rs.map((r) => r[field]);
  const f = (x) => x.toFixed(1) + " ms";
  console.log(`| ${group}: ${label} (${field}) | ${v.length} | ${f(median(v))} | ${f(Math.min(...v))} | ${f(Math.max(...v))} |`);
}' "$results"
