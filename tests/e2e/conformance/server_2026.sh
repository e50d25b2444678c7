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
rm -rf "$out/results"
node "$here/../node_modules/conformance-2026/dist/index.js" server --url "http://127.0.0.1:$port/mcp" \
  --requirements 2026-07-28 --expected-failures "$here/$baseline" -o "$out/results"
if [ "$variant" = sdk2 ]; then
  # Not scored by the suite, so held here: the fixture's test_custom_header (x-mcp-header)
  # lets the suite check that manifold validates Mcp-Param-* headers against the body.
  node -e '
    const fs = require("fs"), path = require("path");
    const dir = process.argv[1];
    const run = fs.readdirSync(dir).find((d) => d.startsWith("server-http-custom-header-server-validation-"));
    if (!run) { console.error("no http-custom-header-server-validation results"); process.exit(1); }
    const checks = JSON.parse(fs.readFileSync(path.join(dir, run, "checks.json"), "utf8"));
    const bad = checks.filter((c) => c.status !== "SUCCESS");
    for (const c of bad) console.error(`${c.id} ${c.name}: ${c.status} ${c.errorMessage ?? ""}`);
    console.log(`http-custom-header-server-validation: ${checks.length - bad.length}/${checks.length} checks passed`);
    process.exit(bad.length === 0 && checks.length > 0 ? 0 : 1);' "$out/results"
fi
