#!/usr/bin/env bash
# infractl/toolbox: FROM scratch + Debian's busybox-static.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/../lib.sh"
image="$IMAGE_PREFIX/toolbox:latest"
if ! dpkg -s busybox-static >/dev/null 2>&1; then
  log "installing busybox-static"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
fi
bb=/bin/busybox
hash="$(inputs_hash "$here/build.sh" "$here/Dockerfile" "$bb")"
if up_to_date "$image" "$hash"; then log "$image up to date"; exit 0; fi
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$here/Dockerfile" "$ctx/"
cp "$bb" "$ctx/busybox"
DOCKER_BUILDKIT=0 docker build -q --label "infractl.inputs=$hash" -t "$image" "$ctx" >"$ctx/build.log" 2>&1 || { cat "$ctx/build.log" >&2; exit 1; }
log "built $image"
