#!/usr/bin/env bash
# scripts/e2e-deps.sh: what the end-to-end tests need on this machine beyond
# the images: openssh-server (a loopback sshd for DOCKER_HOST=ssh://), and
# iproute2 and util-linux's nsenter (the Swarm worker node in a network
# namespace), file and zip (make release and its test), from the machine's
# own apt sources. Installs only what is missing.
set -euo pipefail
missing=()
if ! command -v sshd >/dev/null 2>&1 && [ ! -x /usr/sbin/sshd ]; then missing+=(openssh-server); fi
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
command -v nsenter >/dev/null 2>&1 || missing+=(util-linux)
command -v file >/dev/null 2>&1 || missing+=(file)
command -v zip >/dev/null 2>&1 || missing+=(zip)
if [ ${#missing[@]} -gt 0 ]; then
  echo "e2e: installing ${missing[*]}" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
