#!/usr/bin/env bash
# Server side of the official conformance suite against manifold's Streamable HTTP endpoint,
# with manifold fronting fixture_server.mjs (stdio) under unprefixed names.
# Usage: server.sh <manifold binary> <output dir>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The 2025-11-25 suite (0.1.16); tests/e2e/package.json also installs 0.2.0-alpha.12 as
# conformance-2026, whose `conformance` bin may win the link in node_modules/.bin.
conformance=(node "$here/../node_modules/@modelcontextprotocol/conformance/dist/index.js")
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
"${conformance[@]}" server --url "http://127.0.0.1:$port/mcp" --suite all \
  --expected-failures "$here/expected-failures.yaml" -o "$out/results"
