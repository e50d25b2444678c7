#!/usr/bin/env bash
# Stateless 2026-07-28 requests against handshake-era session requests, through the same
# manifold over HTTP (the fake server's echo as upstream, unprefixed): calls/s and latency at
# 1 and at INFLIGHT calls in flight. Each stateless request is checked (envelope, headers)
# and served by a session that lives as long as the request; a session request goes to the
# session it names. Runs alternate (session, stateless) so drift on a shared machine hits
# both alike.
#
#   bash bench/modern.sh [BUILD_DIR]     (default build/release; build/ci works too)
#   PAIRS=5 CALLS=20000 INFLIGHT=16 bash bench/modern.sh
#
# Prints one JSON line per run and the medians of each side. Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
manifold=$build/app/manifold
fake=$build/tests/fake_mcp_server
loadgen=$build/bench/manifold_loadgen
node=tests/e2e/node_modules/.bin/node
pairs=${PAIRS:-5}
calls=${CALLS:-20000}
inflight=${INFLIGHT:-16}
for b in "$manifold" "$fake" "$loadgen"; do
  [ -x "$b" ] || { echo "bench/modern.sh: $b is missing; build the $build preset first" >&2; exit 1; }
done

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
cat > "$work/manifold.yaml" <<YAML
naming: {prefix: never}
servers:
  fake: {command: "$fake"}
YAML
rm -f "$work/port"
"$manifold" --log-level warn serve --config "$work/manifold.yaml" --listen 127.0.0.1:0 --port-file "$work/port" 2>>"$work/manifold.log" &
pid=$!
for _ in $(seq 1 300); do [ -s "$work/port" ] && break; sleep 0.05; done
url="http://127.0.0.1:$(cat "$work/port")/mcp"

# run MODE INFLIGHT: one measured run against the running manifold.
run() {
  local line
  line=$("$loadgen" "$1" --url "$url" --inflight "$2" --calls "$calls" --seconds 0 --warmup 500)
  printf '%s\n' "$line" | "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);o.label=process.argv[1];console.log(JSON.stringify(o))})' "$1/$2" | tee -a "$work/results.jsonl"
}

for _ in $(seq 1 "$pairs"); do
  for c in 1 "$inflight"; do
    run http "$c"
    run modern "$c"
  done
done
"$node" -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
for (const l of [...new Set(lines.map((x) => x.label))]) {
  const side = lines.filter((x) => x.label === l);
  const m = (k) => median(side.map((x) => x[k]));
  console.log(`${l}: ${m("calls_per_s").toFixed(0)} calls/s, p50 ${m("p50_us").toFixed(1)} us, p99 ${m("p99_us").toFixed(1)} us, errors ${side.reduce((a, x) => a + (x.errors ?? 0), 0)}`);
}
' "$work/results.jsonl"
