#!/usr/bin/env bash
# tools/build-compose.sh: builds docker compose from the Go module proxy,
# the reference infractl is compared with (interop tests, benchmarks), and
# installs it as a CLI plugin in a project-local DOCKER_CONFIG
# (.tools/docker/cli-plugins/docker-compose). Never committed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
# v5.6.0 is the newest release that builds here (v5.7.0 needs a newer Go and
# a dependency the proxy does not serve); COMPOSE_VERSION=v2.40.3 builds the
# previous reference (module path github.com/docker/compose/v2).
version="${COMPOSE_VERSION:-v5.6.0}"
major="${version%%.*}"
module="github.com/docker/compose/$major/cmd"
mod="$root/.tools/compose"
plugin="$root/.tools/docker/cli-plugins/docker-compose"
if [ -x "$plugin" ] && [ "$(cat "$mod/version" 2>/dev/null)" = "$version" ]; then
  echo "tools: docker compose $version up to date" >&2
  exit 0
fi
mkdir -p "$mod" "$(dirname "$plugin")"
[ -f "$mod/go.mod" ] || (cd "$mod" && go mod init compose-build >/dev/null 2>&1)
echo "tools: building docker compose $version (first time: 5-7 minutes)" >&2
(cd "$mod" && go get "$module@$version" >/dev/null 2>&1 &&
  go build -o "$plugin" "$module")
echo "$version" >"$mod/version"
echo "tools: $plugin" >&2
