#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds with warnings as errors, runs the
# unit, integration and end-to-end tests, then all of them again with manifold built under
# AddressSanitizer + UndefinedBehaviorSanitizer, then every libFuzzer target for a bounded
# time (MANIFOLD_FUZZ_SECONDS each, default 20), and last the deployment tests (the Debian
# package under systemd, the container image, the Kubernetes manifests, the nginx helper).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/tests/e2e/node_modules/.bin:$PATH"
jobs=$(nproc)

cmake --preset ci >/dev/null
cmake --build --preset ci -j "$jobs"
ctest --preset ci -j "$jobs" -L 'unit|integration|e2e'

cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset asan -j "$jobs" -L 'unit|integration|e2e'

cmake --preset fuzz -DMANIFOLD_FUZZ_SECONDS="${MANIFOLD_FUZZ_SECONDS:-20}" >/dev/null
cmake --build --preset fuzz -j "$jobs"
ctest --preset fuzz -j "$jobs" -L fuzz

# Deployment: package, image, Kubernetes overlays, nginx helper (tests/deploy, label deploy).
ctest --preset ci -L deploy
