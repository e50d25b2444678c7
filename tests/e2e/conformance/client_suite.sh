#!/usr/bin/env bash
# Client side of the official conformance suite: manifold, as the client of the suite's mock
# servers (client.sh), through the core client scenarios.
# Usage: client_suite.sh <manifold binary> <output dir>
# When the suite fails, judge.mjs decides from the results: the only difference is that
# sse-retry's warning for a reconnection later than the suite's window (timing on a loaded
# machine) is accepted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The 2025-11-25 suite (0.1.16); tests/e2e/package.json also installs 0.2.0-alpha.12 as
# conformance-2026, whose `conformance` bin may win the link in node_modules/.bin.
conformance=(node "$here/../node_modules/@modelcontextprotocol/conformance/dist/index.js")
export MANIFOLD_BIN=$1
results=$2/results
rm -rf "$results"
mkdir -p "$results"
status=0
"${conformance[@]}" client --command "$here/client.sh" --suite core \
  --expected-failures "$here/expected-failures.yaml" -o "$results" || status=$?
# The extension scenarios: client credentials with a secret and with private_key_jwt.
"${conformance[@]}" client --command "$here/client.sh" --suite extensions \
  --expected-failures "$here/expected-failures.yaml" -o "$results" || status=$?
[ "$status" = 0 ] && exit 0
node "$here/judge.mjs" "$here/expected-failures.yaml" "$results"
