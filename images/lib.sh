#!/usr/bin/env bash
# Shared helpers for the image scripts: a running engine, input hashes, and
# "rebuild only what changed" (each image carries infractl.inputs=<hash>).
set -euo pipefail

IMAGE_PREFIX="${IMAGE_PREFIX:-infractl}"
IMAGES_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

log() { printf 'images: %s\n' "$*" >&2; }

# ensure_docker starts the Docker daemon when it is not running (CI machines
# and fresh sessions), installing docker.io first when it is missing.
ensure_docker() {
  if docker info >/dev/null 2>&1; then return 0; fi
  if ! command -v dockerd >/dev/null 2>&1; then
    log "installing docker.io"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
  fi
  log "starting dockerd"
  (dockerd >/tmp/infractl-dockerd.log 2>&1 &)
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && return 0
    sleep 1
  done
  log "dockerd did not start; see /tmp/infractl-dockerd.log"
  return 1
}

# ensure_pkg installs Debian packages that provide the given commands.
ensure_pkg() { # command package
  command -v "$1" >/dev/null 2>&1 && return 0
  log "installing $2"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null
}

# inputs_hash hashes files (name relative to the repository, and content)
# and extra strings, so a clone elsewhere computes the same hash.
inputs_hash() {
  { for f in "$@"; do
      printf '%s\n' "${f#"$IMAGES_ROOT"/}"
      if [ -f "$f" ]; then sha256sum <"$f"; fi
    done; } | sha256sum | cut -c1-16
}

# up_to_date IMAGE HASH: true when the image exists with that inputs hash.
up_to_date() {
  local have
  have="$(docker image inspect -f '{{index .Config.Labels "infractl.inputs"}}' "$1" 2>/dev/null || true)"
  [ "$have" = "$2" ]
}

# debian_mirror reads the Debian mirror from this machine's apt sources.
debian_mirror() {
  local m=""
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    m="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)"
  fi
  if [ -z "$m" ] && [ -f /etc/apt/sources.list ]; then
    m="$(awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^(https?|file):/) {print $i; exit}}' /etc/apt/sources.list)"
  fi
  [ -n "$m" ] || { log "no Debian mirror found in the apt sources"; return 1; }
  printf '%s\n' "$m"
}
