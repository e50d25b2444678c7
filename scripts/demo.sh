#!/usr/bin/env bash
# The demo: manifold in front of the real everything, memory and filesystem MCP servers.
# Prints the merged catalog, then a real MCP client calls tools through manifold.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
cmake --preset release >/dev/null
cmake --build --preset release --target manifold
export PATH="$PWD/tests/e2e/node_modules/.bin:$PATH"
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export MANIFOLD_DEMO_MEMORY="$scratch/memory.jsonl"   # a fresh knowledge graph each run

echo
echo "== manifold catalog --config samples/demo.yaml"
./build/release/app/manifold --log-level warn catalog --config samples/demo.yaml
echo
echo "== a real MCP client (TypeScript SDK) calling through manifold serve"
node scripts/demo-client.mjs ./build/release/app/manifold samples/demo.yaml
