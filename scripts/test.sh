#!/usr/bin/env bash
# The whole test suite: installs what it needs, builds with warnings as errors, runs the
# unit, integration and end-to-end tests, then all of them again with manifold built under
# AddressSanitizer + UndefinedBehaviorSanitizer, then every libFuzzer target for a bounded
# time (MANIFOLD_FUZZ_SECONDS each, default 20), and last the deployment tests (the Debian
# package under systemd, the container image, the Kubernetes manifests, the nginx helper).
#
# Disk: the three build trees take several GB (debug info is line tables only, -g1). With
# MANIFOLD_PRUNE_BUILDS=1 (.ci/run sets it) the asan and fuzz trees are removed once their
# tests have passed; a developer's trees are kept. The free space is printed at each phase.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/tests/e2e/node_modules/.bin:$PATH"
jobs=$(nproc)
space() { echo "test.sh: $1: $(df -h --output=avail . | tail -n 1 | tr -d ' ') free on $(df --output=target . | tail -n 1)" >&2; }
prune() { if [[ "${MANIFOLD_PRUNE_BUILDS:-0}" == 1 ]]; then rm -rf "build/$1"; space "build/$1 removed"; fi; }
space "start"

cmake --preset ci >/dev/null
cmake --build --preset ci -j "$jobs"
ctest --preset ci -j "$jobs" -L 'unit|integration|e2e'
space "ci built and tested"

cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  ctest --preset asan -j "$jobs" -L 'unit|integration|e2e'
# A report from a process that still exited as the test expected (manifold after SIGTERM,
# a child an end-to-end test started) does not fail its test; it fails the suite here.
if grep -E -m 20 'ERROR: (AddressSanitizer|LeakSanitizer)|runtime error:' build/asan/Testing/Temporary/LastTest.log; then
  echo "test.sh: sanitizer reports in build/asan/Testing/Temporary/LastTest.log (above)" >&2
  exit 1
fi
space "asan built and tested"
prune asan

cmake --preset fuzz -DMANIFOLD_FUZZ_SECONDS="${MANIFOLD_FUZZ_SECONDS:-20}" >/dev/null
cmake --build --preset fuzz -j "$jobs"
ctest --preset fuzz -j "$jobs" -L fuzz
space "fuzz built and run"
prune fuzz

# Deployment: package, image, Kubernetes overlays, nginx helper (tests/deploy, label deploy).
ctest --preset ci -L deploy
