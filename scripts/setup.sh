#!/usr/bin/env bash
# Installs everything manifold needs to build, demo and test on Debian 12 (run as root):
# the C++ toolchain and libraries from Debian, and the npm test peers from the lockfile in
# tests/e2e (reference MCP servers, the SDK client, the Inspector, the conformance suite,
# playwright-core, which drives Debian's chromium for the status page test, and Node 22 as
# the npm package node@22). Debian's prometheus is the real scraper of the metrics e2e test
# (the test starts its own on loopback; the package's service is not used).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build pkg-config git ccache
  libboost1.81-dev libboost-filesystem1.81-dev libboost-url1.81-dev
  nlohmann-json3-dev libyaml-cpp-dev libspdlog-dev libcli11-dev libvalijson-dev
  prometheus-cpp-dev libssl-dev libgtest-dev
  clang-14 libclang-rt-14-dev util-linux
  libpq-dev libsqlite3-dev postgresql awscli gh
  chromium prometheus
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ! command -v npm >/dev/null 2>&1; then missing+=(nodejs npm); fi
# The exec packs' tests run the real kubectl: Debian's kubernetes-client, unless a kubectl
# is installed already (another package may own /usr/bin/kubectl).
if ! command -v kubectl >/dev/null 2>&1; then missing+=(kubernetes-client); fi
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -x tests/e2e/node_modules/.bin/node ] || [ tests/e2e/package-lock.json -nt tests/e2e/node_modules/.package-lock.json ]; then
  echo "setup: installing npm test peers from tests/e2e/package-lock.json" >&2
  (cd tests/e2e && npm ci --no-audit --no-fund --loglevel=error)
fi
# Deployment tests (tests/deploy, CTest label deploy): rootful podman with runc (crun cannot
# run on these machines' hybrid cgroup layout) and catatonit for --init, debootstrap for the
# local base image, nginx for load-balancer tests, dpkg-dev and file for CPack's dependency
# computation, and kubectl with kustomize 4+ (Debian's kubernetes-client only when none is
# installed; its kustomize is too old for deploy/kubernetes, see docs/deploy.md).
deploy_missing=()
for p in podman buildah debootstrap catatonit runc nginx dpkg-dev file; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || deploy_missing+=("$p")
done
if ! command -v kubectl >/dev/null 2>&1; then deploy_missing+=(kubernetes-client); fi
if [ ${#deploy_missing[@]} -gt 0 ]; then
  echo "setup: installing ${deploy_missing[*]} (deployment tests)" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # podman with its recommends (netavark, catatonit, slirp4netns); runc and nginx without.
  apt-get install -y -qq podman buildah debootstrap catatonit >/dev/null
  apt-get install -y -qq --no-install-recommends runc nginx dpkg-dev file \
    $(command -v kubectl >/dev/null 2>&1 || echo kubernetes-client) >/dev/null
fi
echo "setup: done" >&2
