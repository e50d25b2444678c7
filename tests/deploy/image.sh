#!/usr/bin/env bash
# manifold's container image, built and run with rootful podman:
#   image.sh [--from-source] BUILD_DIR NODE
# By default (the test command) the image is deploy/Dockerfile.prebuilt fed with the
# package that `cpack -G DEB` makes from BUILD_DIR: the same runtime stage as
# deploy/Dockerfile without compiling manifold again inside the image (that takes many
# minutes on two cores). --from-source builds deploy/Dockerfile itself: the `release`
# preset compiled in the build stage, under the machine's build lock, with the host's
# ccache mounted (CTest label container-build: ctest --preset ci -L container-build).
# Then: the runtime stages of both Dockerfiles are the same text; the build stage installs
# every -dev package scripts/setup.sh installs (but the test-only ones); the image runs as
# uid 10001, every library the binary needs is there, its HEALTHCHECK is kept; a container
# runs the image's own CMD with a config mounted read-only that fronts the fake MCP server
# (BUILD_DIR/tests/fake_mcp_server, mounted: it needs no Node.js), published on a loopback
# port the OS picks; the SDK client lists and calls a tool through it over HTTP; the
# HEALTHCHECK passes; the server process runs as uid 10001; podman stop ends it cleanly.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
from_source=0
if [ "${1:-}" = --from-source ]; then from_source=1; shift; fi
build_dir=$(cd "$1" && pwd)
node=$2
started=$(date +%s)

work=$(mktemp -d /tmp/manifold-image-test.XXXXXX)
image=localhost/manifold-image-test:$$
ctr=manifold-image-test-$$
dangling_before=""
cleanup() {
  podman rm -f -t 0 "$ctr" >/dev/null 2>&1 || true
  podman rmi -f "$image" >/dev/null 2>&1 || true
  # The multi-stage build leaves its build stage as an untagged image: remove the ones
  # that appeared during this test (C++ image builds hold the build lock, so they are ours).
  if [ $from_source = 1 ]; then
    for id in $(podman images -q --no-trunc --filter dangling=true); do
      grep -qx "$id" <<<"$dangling_before" || podman rmi -f "$id" >/dev/null 2>&1 || true
    done
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# The two Dockerfiles share their runtime stage, and the build stage has the build deps.
marker='# --- runtime stage: the same in deploy/Dockerfile.prebuilt from here on ---'
diff <(sed -n "\|^$marker\$|,\$p" "$deploy_repo/deploy/Dockerfile") \
  <(sed -n "\|^$marker\$|,\$p" "$deploy_repo/deploy/Dockerfile.prebuilt") >"$work/stage.diff" ||
  { cat "$work/stage.diff" >&2; deploy_fail "the runtime stages of deploy/Dockerfile and Dockerfile.prebuilt differ"; }
grep -qF "$marker" "$deploy_repo/deploy/Dockerfile" || deploy_fail "no runtime stage marker in deploy/Dockerfile"
build_stage=$(sed -n '/^FROM .* AS build$/,/^FROM /p' "$deploy_repo/deploy/Dockerfile")
setup_packages=$(sed -n '/^packages=(/,/^)/p' "$deploy_repo/scripts/setup.sh" | tr -s ' ()' '\n' | grep -- '-dev$' || true)
for p in $setup_packages; do
  case "$p" in libgtest-dev | libclang-rt-*-dev) continue ;; esac  # tests and fuzzing only
  grep -qw -- "$p" <<<"$build_stage" || deploy_fail "deploy/Dockerfile's build stage lacks $p (scripts/setup.sh installs it)"
done

deploy_ensure_base_image

t0=$(date +%s)
if [ $from_source = 1 ]; then
  ccache_dir=$(ccache -k cache_dir 2>/dev/null || echo "$HOME/.cache/ccache")
  mkdir -p "$ccache_dir"
  dangling_before=$(podman images -q --no-trunc --filter dangling=true)
  # Compiles C++: never at the same time as another build on this machine.
  flock /tmp/manifold-build.lock podman build --pull=never --format docker --volume "$ccache_dir:/ccache" \
    -f "$deploy_repo/deploy/Dockerfile" -t "$image" "$deploy_repo" >"$work/build.log" 2>&1 ||
    { tail -30 "$work/build.log" >&2; deploy_fail "podman build -f deploy/Dockerfile"; }
else
  mkdir "$work/ctx"
  deb=$(deploy_cpack "$build_dir" "$work")
  mv "$deb" "$work/ctx/manifold.deb"
  podman build --pull=never --format docker -f "$deploy_repo/deploy/Dockerfile.prebuilt" -t "$image" "$work/ctx" \
    >"$work/build.log" 2>&1 || { tail -30 "$work/build.log" >&2; deploy_fail "podman build -f deploy/Dockerfile.prebuilt"; }
fi
build_seconds=$(( $(date +%s) - t0 ))
deploy_log "image built in $build_seconds s ($([ $from_source = 1 ] && echo deploy/Dockerfile || echo deploy/Dockerfile.prebuilt)); $(podman image inspect --format '{{.Size}}' "$image" | awk '{printf "%.0f MB", $1 / 1e6}')"

[ "$(podman image inspect --format '{{.Config.User}}' "$image")" = 10001:10001 ] || deploy_fail "image user is not 10001"
health=$(podman image inspect --format '{{json .Config.Healthcheck}}' "$image")
grep -q '/dev/tcp/127.0.0.1/8080' <<<"$health" || deploy_fail "no HEALTHCHECK in the image: $health"
missing=$(podman run --rm --health-cmd none --entrypoint ldd "$image" /usr/bin/manifold | grep 'not found' || true)
[ -z "$missing" ] || deploy_fail "libraries missing in the image: $missing"
podman run --rm --health-cmd none "$image" check --config /etc/manifold/manifold.yaml >/dev/null || deploy_fail "the image's sample config"

# The image's own CMD, with a config mounted read-only that fronts the fake server.
printf 'servers:\n  fake:\n    command: /opt/fake/fake_mcp_server\n' >"$work/manifold.yaml"
chmod 0644 "$work/manifold.yaml"
podman run -d --init --name "$ctr" -p 127.0.0.1::8080 --health-interval disable \
  -v "$work/manifold.yaml:/etc/manifold/manifold.yaml:ro" \
  -v "$build_dir/tests/fake_mcp_server:/opt/fake/fake_mcp_server:ro" "$image" >/dev/null
missing=$(podman exec "$ctr" ldd /opt/fake/fake_mcp_server | grep 'not found' || true)
[ -z "$missing" ] || deploy_fail "the fake server's libraries are missing in the image: $missing"
url="http://$(podman port "$ctr" 8080/tcp | head -1)"
[[ $url =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || deploy_fail "published port: $url"
"$node" "$deploy_repo/tests/e2e/deploy_client.mjs" "$url" fake__echo "through the image" ||
  { podman logs "$ctr" >&2; deploy_fail "MCP client through the container"; }

podman healthcheck run "$ctr" >/dev/null || deploy_fail "HEALTHCHECK failed"
uids=$(podman exec "$ctr" bash -c 'for d in /proc/[0-9]*; do
  [ "$(readlink "$d/exe" 2>/dev/null)" = /usr/bin/manifold ] && awk "/^Uid:/ {print \$2}" "$d/status"; done; true')
[ "$uids" = 10001 ] || deploy_fail "manifold's uid in the container: '$uids'"
podman stop -t 10 "$ctr" >/dev/null
code=$(podman inspect --format '{{.State.ExitCode}}' "$ctr")
[ "$code" = 0 ] || { podman logs "$ctr" >&2; deploy_fail "manifold exited with $code on podman stop"; }

deploy_log "image: HEALTHCHECK passed, uid 10001, tool called over HTTP, clean stop"
echo "image: 1 passed, 0 failed ($(( $(date +%s) - started )) s; build $build_seconds s)"
