#!/usr/bin/env bash
# goimage.sh IMAGE BINARY MODULE-DIR PACKAGE [busybox] [cacerts]: builds a
# static Go binary (CGO_ENABLED=0) from MODULE-DIR and puts it FROM scratch
# at /usr/local/bin/BINARY, with Debian's busybox-static when asked (shell
# for healthchecks and scripts) and the CA certificates when asked (https
# to a registry, Loki or an engine). Rebuilds only when the inputs changed.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
. "$here/lib.sh"
image="$1" bin="$2" moddir="$3" pkg="$4" withbb="${5:-}" withca="${6:-}"
cas=/etc/ssl/certs/ca-certificates.crt
if [ -n "$withca" ] && [ ! -f "$cas" ]; then
  log "installing ca-certificates"
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ca-certificates >/dev/null
fi
cd "$moddir"
# The Go inputs: every Go file the package depends on inside the module,
# go.mod/go.sum, and this script.
files="$(go list -deps -f '{{if not .Standard}}{{$d := .Dir}}{{range .GoFiles}}{{$d}}/{{.}} {{end}}{{end}}' "$pkg" | tr ' ' '\n' | grep "^$(pwd)" | sort || true)"
hash="$(inputs_hash "$here/goimage.sh" go.mod go.sum $files "pkg=$pkg" "bb=$withbb" "ca=$withca" ${withca:+$cas} "$(go list -m all 2>/dev/null | sha256sum)")"
if up_to_date "$image" "$hash"; then log "$image up to date"; exit 0; fi
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
log "building $image ($pkg)"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w ${GO_LDFLAGS:-}" -o "$ctx/$bin" "$pkg"
{
  echo "FROM scratch"
  if [ -n "$withbb" ]; then
    cp /bin/busybox "$ctx/busybox"
    echo "COPY busybox /bin/busybox"
    echo 'RUN ["/bin/busybox", "--install", "-s", "/bin"]'
  fi
  if [ -n "$withca" ]; then
    mkdir -p "$ctx/certs"
    cp "$cas" "$ctx/certs/ca-certificates.crt"
    echo "COPY certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt"
  fi
  echo "COPY $bin /usr/local/bin/$bin"
  echo "ENV PATH=/usr/local/bin:/bin"
  echo "WORKDIR /tmp"
  echo "ENTRYPOINT [\"/usr/local/bin/$bin\"]"
} >"$ctx/Dockerfile"
DOCKER_BUILDKIT=0 docker build -q --label "infractl.inputs=$hash" -t "$image" "$ctx" >"$ctx/build.log" 2>&1 || { cat "$ctx/build.log" >&2; exit 1; }
log "built $image"
