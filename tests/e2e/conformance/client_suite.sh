#!/usr/bin/env bash
# Client side of the official conformance suite: manifold, as the client of the suite's mock
# servers (client.sh), through the core client scenarios.
# Usage: client_suite.sh <manifold binary> <output dir>
# When the suite fails, judge.mjs decides from the results: the only difference is that
# sse-retry's warning for a reconnection later than the suite's window (timing on a loaded
# machine) is accepted.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export MANIFOLD_BIN=$1
results=$2/results
rm -rf "$results"
mkdir -p "$results"
status=0
conformance client --command "$here/client.sh" --suite core \
  --expected-failures "$here/expected-failures.yaml" -o "$results" || status=$?
# The extension scenarios: client credentials with a secret and with private_key_jwt.
conformance client --command "$here/client.sh" --suite extensions \
  --expected-failures "$here/expected-failures.yaml" -o "$results" || status=$?
[ "$status" = 0 ] && exit 0
node "$here/judge.mjs" "$here/expected-failures.yaml" "$results"
