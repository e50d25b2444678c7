#!/usr/bin/env bash
# Client side of the official conformance suite: manifold, as the client of the suite's mock
# servers (client.sh), through the core client scenarios.
# Usage: client_suite.sh <manifold binary> <output dir>
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
export MANIFOLD_BIN=$1
mkdir -p "$2"
conformance client --command "$here/client.sh" --suite core \
  --expected-failures "$here/expected-failures.yaml" -o "$2/results"
# The extension scenarios: client credentials with a secret and with private_key_jwt.
conformance client --command "$here/client.sh" --suite extensions \
  --expected-failures "$here/expected-failures.yaml" -o "$2/results"
