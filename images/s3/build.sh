#!/usr/bin/env bash
# infractl/s3: versitygw (Apache-2.0), an S3 server with the posix backend,
# signatures, bucket policies and versioning, built from the Go module proxy
# in a throwaway module (never committed), FROM scratch with busybox.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$here/../lib.sh"
version="${VERSITYGW_VERSION:-v1.8.0}"
image="$IMAGE_PREFIX/s3:latest"
hash="$(inputs_hash "$here/build.sh" "$here/entrypoint.sh" "version=$version")"
if up_to_date "$image" "$hash"; then log "$image up to date"; exit 0; fi
mod="$root/.tools/versitygw"
mkdir -p "$mod"
if [ ! -f "$mod/go.mod" ]; then (cd "$mod" && go mod init versitygw-build >/dev/null 2>&1); fi
log "building versitygw $version (first time: a few minutes)"
(cd "$mod" && go get "github.com/versity/versitygw/cmd/versitygw@$version" >/dev/null 2>&1 &&
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$mod/versitygw" github.com/versity/versitygw/cmd/versitygw)
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$mod/versitygw" /bin/busybox "$here/entrypoint.sh" "$ctx/"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/mkdir", "-p", "/tmp", "/data", "/versions"]
COPY versitygw /usr/local/bin/versitygw
COPY entrypoint.sh /usr/local/bin/s3-entrypoint
ENV PATH=/usr/local/bin:/bin
ENTRYPOINT ["/bin/sh", "/usr/local/bin/s3-entrypoint"]
DOCKERFILE
DOCKER_BUILDKIT=0 docker build -q --label "infractl.inputs=$hash" -t "$image" "$ctx" >"$ctx/build.log" 2>&1 || { cat "$ctx/build.log" >&2; exit 1; }
log "built $image"
