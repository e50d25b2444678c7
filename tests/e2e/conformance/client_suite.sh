#!/usr/bin/env bash
# Client side of the official conformance suite: manifold, as the client of the suite's mock
# servers (client.sh), through the core client scenarios.
# Usage: client_suite.sh <manifold binary> <output dir>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# The 2025-11-25 suite (0.1.16); tests/e2e/package.json also installs 0.2.0-alpha.12 as
# conformance-2026, whose `conformance` bin may win the link in node_modules/.bin.
conformance=(node "$here/../node_modules/@modelcontextprotocol/conformance/dist/index.js")
export MANIFOLD_BIN=$1
mkdir -p "$2"
"${conformance[@]}" client --command "$here/client.sh" --suite core \
  --expected-failures "$here/expected-failures.yaml" -o "$2/results"
# The extension scenarios: client credentials with a secret and with private_key_jwt.
"${conformance[@]}" client --command "$here/client.sh" --suite extensions \
  --expected-failures "$here/expected-failures.yaml" -o "$2/results"
