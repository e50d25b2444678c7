# Shared by the deploy tests (sourced, not run): rootful podman configured for machines
# like CI's, and the local `debian:12-slim` base image that the Dockerfiles start FROM.
#
# No container registry is reachable here, so the base image is made locally with
# debootstrap from the apt mirror this machine already uses, and imported under the name
# the Dockerfiles use. It is an expensive shared fixture: made once, kept between runs,
# never removed by a test. Everything else a test creates (containers, images, temp dirs,
# processes) it removes itself.

deploy_repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
export CONTAINERS_CONF="$deploy_repo/tests/deploy/containers.conf"
deploy_base_image=docker.io/library/debian:12-slim

deploy_log() { echo "$(basename "$0"): $*" >&2; }
deploy_fail() { deploy_log "FAIL: $*"; exit 1; }

# The Debian mirror apt uses here (the first bookworm entry that is not the security
# archive), from deb822 .sources files or one-line .list files.
deploy_apt_mirror() {
  local m=""
  shopt -s nullglob
  local sources=(/etc/apt/sources.list.d/*.sources) lists=(/etc/apt/sources.list /etc/apt/sources.list.d/*.list)
  shopt -u nullglob
  if [ ${#sources[@]} -gt 0 ]; then
    m=$(awk 'BEGIN { RS = ""; FS = "\n" }
      { uris = ""; suites = ""
        for (i = 1; i <= NF; i++) {
          if ($i ~ /^URIs:/)   { v = $i; sub(/^URIs:[ \t]*/, "", v); uris = v }
          if ($i ~ /^Suites:/) { v = $i; sub(/^Suites:[ \t]*/, "", v); suites = " " v " " }
        }
        if (suites ~ / bookworm / && uris != "") { split(uris, u, " "); print u[1]; exit } }' "${sources[@]}")
  fi
  if [ -z "$m" ]; then
    for f in "${lists[@]}"; do
      [ -r "$f" ] || continue
      m=$(awk '$1 == "deb" { i = 2; if ($2 ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
                             if ($(i + 1) == "bookworm") { print $i; exit } }' "$f")
      [ -n "$m" ] && break
    done
  fi
  [ -n "$m" ] || deploy_fail "no bookworm entry in apt's sources: cannot make the base image"
  echo "$m"
}

# Makes $deploy_base_image unless it exists (about 30 s; serialised between tests).
deploy_ensure_base_image() {
  exec 8>/tmp/manifold-base-image.lock
  flock 8
  if podman image exists "$deploy_base_image"; then
    flock -u 8
    return 0
  fi
  local mirror work started
  mirror=$(deploy_apt_mirror)
  work=$(mktemp -d /var/tmp/manifold-base.XXXXXX)
  started=$(date +%s)
  deploy_log "making $deploy_base_image with debootstrap from $mirror"
  if ! debootstrap --variant=minbase bookworm "$work/rootfs" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -20 "$work/debootstrap.log" >&2
    rm -rf "$work"
    deploy_fail "debootstrap failed"
  fi
  local root="$work/rootfs"
  rm -f "$root/etc/apt/sources.list"
  if [ -r /etc/apt/sources.list.d/debian.sources ]; then
    cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/debian.sources"
  else
    printf 'Types: deb\nURIs: %s\nSuites: bookworm bookworm-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
      "$mirror" >"$root/etc/apt/sources.list.d/debian.sources"
  fi
  # As in the slim images: apt keeps no downloaded packages, dpkg installs no docs, man
  # pages or translations.
  cat >"$root/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
  cat >"$root/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
  find "$root/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  rm -rf "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/lib/apt/lists/* \
    "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/*.bin
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  tar --numeric-owner -C "$root" -c . |
    podman import --change 'CMD ["bash"]' \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' - "$deploy_base_image" \
      >"$work/import.log" 2>&1 || { cat "$work/import.log" >&2; rm -rf "$work"; deploy_fail "podman import"; }
  rm -rf "$work"
  deploy_log "made $deploy_base_image in $(( $(date +%s) - started )) s"
  flock -u 8
}

# Builds the Debian package from an already built CMake tree ($1) into directory $2 and
# prints the package's path. cpack installs the tree's install rules (nothing is compiled).
deploy_cpack() {
  local build_dir=$1 out=$2
  (cd "$build_dir" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log" >&2; deploy_fail "cpack failed"; }
  local deb
  deb=$(find "$out" -maxdepth 1 -name 'manifold_*_amd64.deb' | head -1)
  [ -n "$deb" ] || deploy_fail "cpack made no manifold_*_amd64.deb in $out"
  echo "$deb"
}
