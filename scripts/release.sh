#!/usr/bin/env bash
# scripts/release.sh: cross-compiles infractl for linux, darwin and windows
# on amd64 and arm64 into dist/ (DIST overrides): one static binary per
# platform (CGO_ENABLED=0), an archive of each named as Go CLIs name them
# (infractl_<version>_<os>_<arch>.tar.gz, .zip for windows) and SHA256SUMS
# over all of them. No release service: publishing dist/ is up to the
# maintainer.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
dist="${DIST:-$root/dist}"
version="${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}"
commit="$(git rev-parse HEAD 2>/dev/null || echo unknown)"
pkg=github.com/infractl/infractl/internal/buildinfo
ldflags="-s -w -X $pkg.Version=$version -X $pkg.Commit=$commit"
rm -rf "$dist"
mkdir -p "$dist"
if ! command -v zip >/dev/null 2>&1; then
  echo "release: installing zip" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zip >/dev/null
fi
for os in linux darwin windows; do
  for arch in amd64 arm64; do
    name="infractl_${version#v}_${os}_${arch}"
    exe=infractl
    [ "$os" = windows ] && exe=infractl.exe
    stage="$dist/$name"
    mkdir -p "$stage"
    CGO_ENABLED=0 GOOS=$os GOARCH=$arch go build -trimpath -ldflags "$ldflags" -o "$stage/$exe" ./cmd/infractl
    cp README.md "$stage/"
    if [ "$os" = windows ]; then
      (cd "$dist" && zip -qr "$name.zip" "$name")
    else
      tar -C "$dist" -czf "$dist/$name.tar.gz" "$name"
    fi
    # The bare binary too, for a one-line download.
    cp "$stage/$exe" "$dist/infractl_${os}_${arch}$([ "$os" = windows ] && echo .exe || true)"
    rm -rf "$stage"
    echo "release: $name" >&2
  done
done
(cd "$dist" && sha256sum -- * >SHA256SUMS)
echo "release: $version in $dist ($(wc -l <"$dist/SHA256SUMS") files in SHA256SUMS)" >&2
