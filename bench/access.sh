#!/usr/bin/env bash
# What identity and access cost per call: the same manifold over HTTP (1 session, 1 call in
# flight, the fake server's echo as upstream) without auth, and with an API key, a role that
# admits the tool, a rate limit high enough never to refuse, and the audit file on (arguments
# redacted). Runs alternate (plain, governed) so drift on a shared machine hits both alike.
#
#   bash bench/access.sh [BUILD_DIR]     (default build/release; build/ci works too)
#   PAIRS=5 CALLS=20000 bash bench/access.sh
#
# Prints one JSON line per run and the median p50/p99 of each side. Not a test.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build/release}
manifold=$build/app/manifold
fake=$build/tests/fake_mcp_server
loadgen=$build/bench/manifold_loadgen
node=tests/e2e/node_modules/.bin/node
pairs=${PAIRS:-5}
calls=${CALLS:-20000}
for b in "$manifold" "$fake" "$loadgen"; do
  [ -x "$b" ] || { echo "bench/access.sh: $b is missing; build the $build preset first" >&2; exit 1; }
done

work=$(mktemp -d)
pid=
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

key="mfd_bench_$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')"
hash=$(printf '%s' "$key" | "$manifold" key hash | awk '{print $NF}')
cat > "$work/plain.yaml" <<EOF
naming: {prefix: never}
servers:
  fake: {command: "$fake"}
EOF
cat > "$work/governed.yaml" <<EOF
naming: {prefix: never}
auth:
  api_keys:
    - {principal: bench, hash: "$hash", roles: [caller]}
roles:
  caller:
    tools: {allow: [echo]}
    limits: {rate: "1000000/s", burst: 1000000}
audit:
  file: $work/audit.jsonl
  arguments: redacted
servers:
  fake: {command: "$fake"}
EOF

# run CONFIG LABEL [loadgen args...]: one measured run against a fresh manifold.
run() {
  local config=$1 label=$2
  shift 2
  rm -f "$work/port"
  "$manifold" --log-level warn serve --config "$config" --listen 127.0.0.1:0 --port-file "$work/port" 2>>"$work/manifold.log" &
  pid=$!
  for _ in $(seq 1 300); do [ -s "$work/port" ] && break; sleep 0.05; done
  local line
  line=$("$loadgen" http --url "http://127.0.0.1:$(cat "$work/port")/mcp" --sessions 1 --calls "$calls" --seconds 0 "$@")
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=
  printf '%s\n' "$line" | "$node" -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s);o.label=process.argv[1];console.log(JSON.stringify(o))})' "$label" | tee -a "$work/results.jsonl"
}

for _ in $(seq 1 "$pairs"); do
  run "$work/plain.yaml" plain
  run "$work/governed.yaml" governed --header "Authorization: Bearer $key"
done
echo "audit lines written: $(wc -l < "$work/audit.jsonl")"
"$node" -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map(JSON.parse);
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const side = (l) => lines.filter((x) => x.label === l);
const stat = (l, k) => median(side(l).map((x) => x[k]));
for (const l of ["plain", "governed"]) console.log(`${l}: p50 ${stat(l, "p50_us").toFixed(1)} us, p99 ${stat(l, "p99_us").toFixed(1)} us, errors ${side(l).reduce((a, x) => a + (x.errors ?? 0), 0)}`);
console.log(`added by auth + role + rate limit + audit: p50 ${(stat("governed", "p50_us") - stat("plain", "p50_us")).toFixed(1)} us, p99 ${(stat("governed", "p99_us") - stat("plain", "p99_us")).toFixed(1)} us`);
' "$work/results.jsonl"
