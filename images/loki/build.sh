#!/usr/bin/env bash
# infractl/loki: Grafana Loki v1.6.1 (module github.com/grafana/loki,
# Apache-2.0; the current github.com/grafana/loki/v3 is AGPL and not used),
# built from the Go module proxy as a dependency of a throwaway module that
# repeats Loki's six replace directives (go install refuses a module with
# replace directives), FROM scratch with busybox.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
. "$here/../lib.sh"
version="${LOKI_VERSION:-v1.6.1}"
image="$IMAGE_PREFIX/loki:latest"
hash="$(inputs_hash "$here/build.sh" "$here/loki.yaml" "version=$version")"
# The Docker Loki logging driver from the same module, as a managed plugin
# named loki (logging: {driver: loki}); its description carries the hash.
plugin_up_to_date() {
  docker plugin inspect loki --format '{{.Config.Description}} {{.Enabled}}' 2>/dev/null | grep -qF "inputs $hash) true"
}
if up_to_date "$image" "$hash" && plugin_up_to_date; then log "$image and the loki logging driver up to date"; exit 0; fi
mod="$root/.tools/loki"
mkdir -p "$mod"
cat >"$mod/go.mod" <<'GOMOD'
module loki-build

go 1.26

replace github.com/hpcloud/tail => github.com/grafana/tail v0.0.0-20191024143944-0b54ddf21fe7

replace github.com/Azure/azure-sdk-for-go => github.com/Azure/azure-sdk-for-go v36.2.0+incompatible

replace k8s.io/client-go => k8s.io/client-go v0.18.3

replace github.com/satori/go.uuid => github.com/satori/go.uuid v1.2.0

replace github.com/gocql/gocql => github.com/grafana/gocql v0.0.0-20200605141915-ba5dc39ece85

replace google.golang.org/grpc => google.golang.org/grpc v1.29.1
GOMOD
log "building Loki $version (first time: 2-5 minutes)"
# The newer reflect2 and json-iterator: with the ones Loki pins, the binary
# accepts a push and then crashes on the first query.
(cd "$mod" && go get "github.com/grafana/loki/cmd/loki@$version" "github.com/grafana/loki/cmd/docker-driver@$version" \
    github.com/modern-go/reflect2@v1.0.2 github.com/json-iterator/go@v1.1.12 >"$mod/get.log" 2>&1 &&
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$mod/loki" github.com/grafana/loki/cmd/loki &&
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$mod/docker-driver" github.com/grafana/loki/cmd/docker-driver) || { tail -20 "$mod/get.log" >&2; exit 1; }
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
cp "$mod/loki" /bin/busybox "$here/loki.yaml" "$ctx/"
cat >"$ctx/Dockerfile" <<'DOCKERFILE'
FROM scratch
COPY busybox /bin/busybox
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN ["/bin/mkdir", "-p", "/tmp", "/loki"]
COPY loki /usr/local/bin/loki
COPY loki.yaml /etc/loki/loki.yaml
EXPOSE 3100
HEALTHCHECK --interval=1s --timeout=2s --retries=60 CMD ["wget", "-q", "-O", "/dev/null", "http://127.0.0.1:3100/ready"]
ENTRYPOINT ["/usr/local/bin/loki", "-config.file=/etc/loki/loki.yaml", "-target=all"]
DOCKERFILE
if ! up_to_date "$image" "$hash"; then
  DOCKER_BUILDKIT=0 docker build -q --label "infractl.inputs=$hash" -t "$image" "$ctx" >"$ctx/build.log" 2>&1 || { cat "$ctx/build.log" >&2; exit 1; }
  log "built $image"
fi
if ! plugin_up_to_date; then
  pdir="$ctx/plugin"
  mkdir -p "$pdir/rootfs/bin" "$pdir/rootfs/tmp" "$pdir/rootfs/etc"
  cp "$mod/docker-driver" "$pdir/rootfs/bin/docker-driver"
  cat >"$pdir/config.json" <<JSON
{
  "description": "Loki Logging Driver $version (infractl inputs $hash)",
  "documentation": "https://github.com/grafana/loki/tree/$version/cmd/docker-driver",
  "entrypoint": ["/bin/docker-driver"],
  "network": {"type": "host"},
  "interface": {"types": ["docker.logdriver/1.0"], "socket": "loki.sock"},
  "env": [{"name": "LOG_LEVEL", "description": "plugin log level", "value": "info", "settable": ["value"]}]
}
JSON
  docker plugin disable -f loki >/dev/null 2>&1 || true
  docker plugin rm -f loki >/dev/null 2>&1 || true
  docker plugin create loki "$pdir" >/dev/null && docker plugin enable loki >/dev/null || { log "cannot install the loki logging driver plugin"; exit 1; }
  log "installed the loki logging driver (managed plugin loki)"
fi
