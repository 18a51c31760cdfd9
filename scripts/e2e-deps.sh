#!/usr/bin/env bash
# scripts/e2e-deps.sh: what the end-to-end tests need on this machine beyond
# the images: openssh-server (a loopback sshd for DOCKER_HOST=ssh://), from
# the machine's own apt sources. Installs only what is missing.
set -euo pipefail
if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then
  echo "e2e: installing openssh-server" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server >/dev/null
fi
