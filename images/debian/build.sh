#!/usr/bin/env bash
# infractl/debian: a Debian bookworm rootfs with PostgreSQL 15, Redis 7
# (cluster mode, the Valkey protocol), curl, jq and netcat, made with
# mmdebstrap from this machine's apt mirror and loaded with docker import.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../lib.sh"
image="$IMAGE_PREFIX/debian:bookworm"
packages="postgresql-15,redis-server,redis-tools,curl,ca-certificates,jq,netcat-openbsd,procps"
hash="$(inputs_hash "$here/build.sh" "packages=$packages")"
if up_to_date "$image" "$hash"; then log "$image up to date"; exit 0; fi
ensure_pkg mmdebstrap mmdebstrap
mirror="$(debian_mirror)"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
log "building $image with mmdebstrap (about 2 minutes)"
mmdebstrap --quiet --variant=apt --include="$packages" \
  --customize-hook='chroot "$1" sh -c "rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin"' \
  bookworm "$tmp/rootfs.tar" "$mirror" >/dev/null
docker import \
  --change 'ENV PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change "LABEL infractl.inputs=$hash" \
  --change 'CMD ["/bin/bash"]' \
  "$tmp/rootfs.tar" "$image" >/dev/null
log "built $image"
