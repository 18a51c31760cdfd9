#!/usr/bin/env bash
# infractl/infractl: infractl itself, static, FROM scratch with busybox (so
# an init service can run `infractl provision`) and the CA certificates: the
# image CI systems that only run containers use (README: Install).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../goimage.sh" "${IMAGE_PREFIX:-infractl}/infractl:latest" infractl "$here/../.." ./cmd/infractl busybox cacerts
