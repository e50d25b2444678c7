#!/usr/bin/env bash
# Server side of the official conformance suite's MCP 2026-07-28 requirements against
# manifold's Streamable HTTP endpoint (stateless requests), under unprefixed names, with
# manifold fronting one upstream over stdio:
#   legacy (default): the handshake-era fixture_server.mjs (SDK 1.x): manifold serves the new
#     revision to the suite while its upstream speaks the old one (multi-round-trip bridging);
#   sdk2: fixture_server_sdk2.mjs (SDK v2, both eras) with `protocol: modern`: 2026-07-28 on
#     both sides, the upstream's InputRequiredResults passed through manifold's rounds.
# Each has its own baseline (expected-failures-2026[-sdk2].yaml).
# Usage: server_2026.sh <manifold binary> <output dir> [legacy|sdk2]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
manifold=$1
out=$2
variant=${3:-legacy}
case "$variant" in
  legacy) fixture=fixture_server.mjs; protocol=legacy; baseline=expected-failures-2026.yaml ;;
  sdk2) fixture=fixture_server_sdk2.mjs; protocol=modern; baseline=expected-failures-2026-sdk2.yaml ;;
  *) echo "unknown variant '$variant' (legacy or sdk2)" >&2; exit 2 ;;
esac
mkdir -p "$out"
config="$out/manifold.yaml"
cat > "$config" <<YAML
naming:
  prefix: never
servers:
  fixture:
    command: "$(command -v node)"
    args: ["$here/$fixture"]
    protocol: $protocol
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
  --requirements 2026-07-28 --expected-failures "$here/$baseline" -o "$out/results"
