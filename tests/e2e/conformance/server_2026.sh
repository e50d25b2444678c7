#!/usr/bin/env bash
# Server side of the official conformance suite's MCP 2026-07-28 requirements against
# manifold's Streamable HTTP endpoint (stateless requests), with manifold fronting the
# handshake-era fixture_server.mjs (stdio) under unprefixed names: manifold serves the new
# revision to the suite while its upstream speaks the old one.
# Usage: server_2026.sh <manifold binary> <output dir>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
manifold=$1
out=$2
mkdir -p "$out"
config="$out/manifold.yaml"
cat > "$config" <<YAML
naming:
  prefix: never
servers:
  fixture:
    command: "$(command -v node)"
    args: ["$here/fixture_server.mjs"]
YAML
rm -f "$out/port"
"$manifold" --log-level warn serve --config "$config" --listen 127.0.0.1:0 --port-file "$out/port" &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null || true' EXIT
for _ in $(seq 1 300); do
  [ -s "$out/port" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "manifold exited early" >&2; exit 1; }
  sleep 0.05
done
port=$(cat "$out/port")
node "$here/../node_modules/conformance-2026/dist/index.js" server --url "http://127.0.0.1:$port/mcp" \
  --requirements 2026-07-28 --expected-failures "$here/expected-failures-2026.yaml" -o "$out/results"
