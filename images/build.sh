#!/usr/bin/env bash
# images/build.sh [name...]: builds the local images infractl's demo and
# tests need (no registry here). Each image carries infractl.inputs=<hash of
# its inputs>; an image whose inputs did not change is not rebuilt.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
ensure_docker
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(toolbox debian kafka s3 loki infractl)
start=$(date +%s)
for n in "${names[@]}"; do
  [ -x "$here/$n/build.sh" ] || { log "unknown image $n"; exit 2; }
  bash "$here/$n/build.sh"
done
log "images ready in $(( $(date +%s) - start ))s: ${names[*]}"
