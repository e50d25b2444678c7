#!/usr/bin/env bash
# The Debian package on a fresh Debian 12 with systemd running:
#   deb_package.sh BUILD_DIR README
# 1. `cpack -G DEB` packages BUILD_DIR's manifold (the install rules and CPack settings of
#    every preset are the same; this reuses the tree the test command has just built
#    instead of compiling the `release` preset again) and the package's fields are checked:
#    dependencies computed by dpkg-shlibdeps, the conffile, section, maintainer.
# 2. A container from the local debian:12-slim base image, with systemd installed, boots
#    systemd as PID 1 (privileged: the unit's sandboxing needs mount namespaces); the package
#    goes in with `apt-get install ./manifold_*.deb`, so its dependencies come from the mirror
#    and its maintainer scripts see a running systemd.
# 3. systemd-analyze verifies the unit; `systemctl start manifold` runs the unit's own
#    ExecStart (in the container's network namespace, so its fixed port is the container's
#    alone); /healthz and /readyz answer 200 on the address parsed from that ExecStart; the
#    process runs under a dynamic uid without capabilities; a stdio upstream added to the
#    config appears after `systemctl reload`; a session key from the environment file seals
#    sessions; stop is clean; a local change to the conffile survives
#    reinstalling; purge removes config, unit and state.
# 4. `manifold --help` (and each subcommand's) matches README's command line section.
set -euo pipefail
# (No `cmd | grep -q` below: grep -q exits at its first match, the writer gets SIGPIPE, and
# pipefail turns the match into a failure.)
source "$(dirname "$0")/lib.sh"
build_dir=$(cd "$1" && pwd)
readme=$2
started=$(date +%s)

work=$(mktemp -d /tmp/manifold-deb-test.XXXXXX)
image=localhost/manifold-deb-test:$$
ctr=manifold-deb-test-$$
cleanup() {
  podman rm -f -t 0 "$ctr" >/dev/null 2>&1 || true
  podman rmi -f "$image" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

deploy_ensure_base_image

# 1. The package.
mkdir "$work/pkg"
deb=$(deploy_cpack "$build_dir" "$work/pkg")
name=$(basename "$deb")
[[ $name =~ ^manifold_[0-9][0-9.]*_amd64\.deb$ ]] || deploy_fail "package name $name"
depends=$(dpkg-deb -f "$deb" Depends)
for lib in libc6 libstdc++6 libyaml-cpp0.7 libssl3 libboost-filesystem1.81.0 procps; do
  [[ ", $depends," == *", $lib"[\ ,]* ]] || deploy_fail "Depends lacks $lib: $depends"
done
[ "$(dpkg-deb -f "$deb" Section)" = net ] || deploy_fail "Section"
[ -n "$(dpkg-deb -f "$deb" Maintainer)" ] || deploy_fail "Maintainer"
dpkg-deb --ctrl-tarfile "$deb" | tar -xO ./conffiles | grep -x /etc/manifold/manifold.yaml >/dev/null ||
  deploy_fail "/etc/manifold/manifold.yaml is not a conffile"
contents=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/manifold ./etc/manifold/manifold.yaml ./lib/systemd/system/manifold.service; do
  grep -qx "$f" <<<"$contents" || deploy_fail "package lacks $f"
done
deploy_log "package $name: Depends: $depends"

# 2. A Debian 12 with systemd, and the package installed by apt.
mkdir "$work/ctx"
cat >"$work/ctx/Containerfile" <<'EOF'
FROM debian:12-slim
RUN apt-get update && apt-get install -y --no-install-recommends systemd && rm -rf /var/lib/apt/lists/*
CMD ["/lib/systemd/systemd"]
EOF
podman build --pull=never -q -t "$image" "$work/ctx" >"$work/build.log" 2>&1 ||
  { tail -20 "$work/build.log" >&2; deploy_fail "podman build of the systemd test image"; }
podman run -d --name "$ctr" --privileged --systemd=always \
  -v "$work/pkg:/pkg:ro" -v "$build_dir/tests/fake_mcp_server:/usr/local/bin/fake_mcp_server:ro" \
  "$image" >/dev/null
in_ctr() { podman exec "$ctr" bash -c "$1"; }
# Bounded poll (about 20 s) until systemd has finished booting.
for _ in $(seq 1 100); do
  state=$(in_ctr 'systemctl is-system-running' 2>/dev/null || true)
  case "$state" in running | degraded) break ;; esac
  sleep 0.2
done
case "$state" in running | degraded) ;; *) deploy_fail "systemd in the container: $state" ;; esac
in_ctr "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends /pkg/$name" \
  >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2; deploy_fail "apt-get install /pkg/$name"; }
in_ctr 'dpkg-query -W -f="\${Conffiles}\n" manifold' | grep '/etc/manifold/manifold.yaml' >/dev/null ||
  deploy_fail "dpkg does not list the conffile"
in_ctr 'manifold check --config /etc/manifold/manifold.yaml' || deploy_fail "manifold check on the sample config"

# 3. The unit.
verify=$(in_ctr 'systemd-analyze verify manifold.service 2>&1') || deploy_fail "systemd-analyze verify: $verify"
[ -z "$verify" ] || deploy_fail "systemd-analyze verify: $verify"
# systemd waits longer than the drain (lifecycle.drain_timeout, 30 s by default) before SIGKILL.
stop_s=$(in_ctr "sed -n 's/^TimeoutStopSec=\\([0-9]*\\)s\$/\\1/p' /lib/systemd/system/manifold.service")
[ "${stop_s:-0}" -gt 30 ] || deploy_fail "TimeoutStopSec (${stop_s:-none} s) does not cover the 30 s drain"
exec_start=$(in_ctr "sed -n 's/^ExecStart=//p' /lib/systemd/system/manifold.service")
read -r -a argv <<<"$exec_start"
listen=""
for ((i = 0; i < ${#argv[@]} - 1; i++)); do [ "${argv[i]}" = --listen ] && listen=${argv[i + 1]}; done
[[ $listen =~ ^127\.0\.0\.1:[0-9]+$ ]] || deploy_fail "ExecStart has no loopback --listen: $exec_start"
host=${listen%:*} port=${listen##*:}
# GET PATH inside the container over bash's /dev/tcp (curl is not installed); prints the status.
http_status() {
  in_ctr "exec 3<>/dev/tcp/$host/$port && printf 'GET $1 HTTP/1.0\r\nHost: $host\r\n\r\n' >&3 && read -r _ code _ <&3 && echo \$code" 2>/dev/null || echo none
}
in_ctr 'systemctl start manifold' || { in_ctr 'journalctl -u manifold --no-pager | tail -20' >&2; deploy_fail "systemctl start manifold"; }
# Bounded poll (about 10 s) for the unit's listener.
for _ in $(seq 1 50); do
  [ "$(http_status /healthz)" = 200 ] && break
  sleep 0.2
done
[ "$(http_status /healthz)" = 200 ] || { in_ctr 'journalctl -u manifold --no-pager | tail' >&2; deploy_fail "/healthz on $listen"; }
[ "$(http_status /readyz)" = 200 ] || deploy_fail "/readyz on $listen"
status=$(in_ctr 'grep -E "^(Uid|CapEff|CapBnd|NoNewPrivs):" /proc/$(systemctl show -p MainPID --value manifold)/status')
uid=$(awk '/^Uid:/ {print $2}' <<<"$status")
[ "$uid" -ne 0 ] || deploy_fail "manifold runs as root"
grep -q 'CapBnd:[[:space:]]*0000000000000000' <<<"$status" || deploy_fail "capabilities left: $status"
grep -q 'NoNewPrivs:[[:space:]]*1' <<<"$status" || deploy_fail "NoNewPrivs not set"

# A stdio upstream added to the config (children run inside the same sandbox), then reload.
in_ctr 'printf "servers:\n  fake:\n    command: /usr/local/bin/fake_mcp_server\n" >/etc/manifold/manifold.yaml'
in_ctr 'systemctl reload manifold' || deploy_fail "systemctl reload manifold"
# Bounded poll (about 10 s) until /readyz names the new upstream.
ready=""
for _ in $(seq 1 50); do
  ready=$(in_ctr "exec 3<>/dev/tcp/$host/$port && printf 'GET /readyz HTTP/1.0\r\nHost: $host\r\n\r\n' >&3 && cat <&3" 2>/dev/null || true)
  grep -q '"fake"' <<<"$ready" && break
  sleep 0.2
done
grep -q '"fake"' <<<"$ready" || { in_ctr 'journalctl -u manifold --no-pager | tail' >&2; deploy_fail "reload did not add the upstream: $ready"; }
in_ctr 'journalctl -u manifold --no-pager' | grep 'SIGHUP: reloading' >/dev/null || deploy_fail "no SIGHUP reload in the journal"

# Sealed sessions under the unit's dynamic user: the key comes from the environment file,
# which systemd reads as root (docs/deploy.md). (A systemd credential, LoadCredential=, is
# the other way; these test containers cannot hand one to a dynamic user.)
in_ctr 'umask 077 && echo "MANIFOLD_SESSION_KEY=$(head -c 32 /dev/urandom | base64)" >>/etc/manifold/environment'
in_ctr 'printf "servers:\n  fake:\n    command: /usr/local/bin/fake_mcp_server\nhttp:\n  sessions:\n    keys: [{id: k1, secret: \"\${MANIFOLD_SESSION_KEY}\"}]\n" >/etc/manifold/manifold.yaml'
in_ctr 'systemctl restart manifold' || { in_ctr 'journalctl -u manifold --no-pager | tail' >&2; deploy_fail "restart with a session key"; }
# Bounded poll (about 10 s) for the ring in the journal.
for _ in $(seq 1 50); do
  in_ctr 'journalctl -u manifold --no-pager' | grep 'session ids sealed with key k1 (ring: k1)' >/dev/null && break
  sleep 0.2
done
in_ctr 'journalctl -u manifold --no-pager' | grep 'session ids sealed with key k1 (ring: k1)' >/dev/null ||
  { in_ctr 'journalctl -u manifold --no-pager | tail' >&2; deploy_fail "the session key was not loaded from the environment file"; }
in_ctr 'systemctl stop manifold'
in_ctr 'rm -f /etc/manifold/environment'
result=$(in_ctr 'systemctl show -p Result --value manifold')
[ "$result" = success ] || deploy_fail "stop: Result=$result"

# The conffile: a local change survives reinstalling; purge removes it.
in_ctr "dpkg -i /pkg/$name >/dev/null 2>&1" || deploy_fail "dpkg -i over the installed package"
in_ctr 'grep -q fake_mcp_server /etc/manifold/manifold.yaml' || deploy_fail "reinstall replaced the changed conffile"
in_ctr 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -qq manifold >/dev/null 2>&1' || deploy_fail "apt-get purge"
in_ctr '! test -e /etc/manifold/manifold.yaml && ! test -e /lib/systemd/system/manifold.service && ! test -e /var/lib/private/manifold' ||
  deploy_fail "purge left files behind"

# 4. --help against README's command line section.
help_of() { "$build_dir/app/manifold" "$@" --help; }
# Options --help shows that README's command line section does not mention yet (README is
# being reworked on main; remove an entry once README documents it).
known_undocumented=""
section=$(awk '/^## Command line/ {on = 1; next} on && /^## / {exit} on' "$readme")
subcommands=$(help_of | awk '/^Subcommands:/ {on = 1; next} on && NF {print $1}')
[ -n "$subcommands" ] || deploy_fail "no subcommands in manifold --help"
for sub in $subcommands; do
  grep -q "manifold $sub\b" <<<"$section" || deploy_fail "README's command line section lacks \`manifold $sub\`"
  for opt in $(help_of "$sub" | grep -oE '^  (-[a-z],)?--[a-z-]+' | grep -oE -- '--[a-z-]+' | grep -vx -- --help); do
    grep -q -- "$opt\b" <<<"$section" || [[ " $known_undocumented " == *" $sub$opt "* ]] ||
      deploy_fail "README's command line section lacks \`$sub $opt\`"
  done
done
for sub in $(grep -oE '^manifold [a-z]+' <<<"$section" | awk '{print $2}' | sort -u); do
  grep -qx "$sub" <<<"$subcommands" || deploy_fail "README names \`manifold $sub\`, which --help does not list"
done
for opt in --log-level --version; do
  help_of | grep -- "$opt" >/dev/null || deploy_fail "--help lacks $opt"
  grep -q -- "$opt" <<<"$section" || deploy_fail "README lacks $opt"
done

deploy_log "package installed, unit started, probed, reloaded, stopped and purged under systemd; --help matches README"
echo "deb_package: 1 passed, 0 failed ($(( $(date +%s) - started )) s)"
