#!/usr/bin/env bash
# Client side of the official conformance suite's MCP 2026-07-28 requirements (0.2.0-alpha.12,
# `--requirements 2026-07-28`): manifold, as the client of the suite's mock servers
# (client_2026.sh), through the 32 required client scenarios (the not-scored ones run and are
# reported too). Known failures, with their reasons, are in expected-failures-2026.yaml
# (`client:`); the suite fails the run for any other failure and for a listed one that passes.
# Usage: client_suite_2026.sh <manifold binary> <output dir>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export MANIFOLD_BIN=$1
results=$2/results
rm -rf "$results"
mkdir -p "$results"
node "$here/../node_modules/conformance-2026/dist/index.js" client --command "$here/client_2026.sh" \
  --requirements 2026-07-28 --expected-failures "$here/expected-failures-2026.yaml" -o "$results"
