#!/usr/bin/env bash
# tools/build-compose.sh: builds docker compose v2 from the Go module proxy,
# the reference infractl is compared with (interop tests, benchmarks), and
# installs it as a CLI plugin in a project-local DOCKER_CONFIG
# (.tools/docker/cli-plugins/docker-compose). Never committed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
version="${COMPOSE_VERSION:-v2.40.3}"
mod="$root/.tools/compose"
plugin="$root/.tools/docker/cli-plugins/docker-compose"
if [ -x "$plugin" ] && [ "$(cat "$mod/version" 2>/dev/null)" = "$version" ]; then
  echo "tools: docker compose $version up to date" >&2
  exit 0
fi
mkdir -p "$mod" "$(dirname "$plugin")"
[ -f "$mod/go.mod" ] || (cd "$mod" && go mod init compose-build >/dev/null 2>&1)
echo "tools: building docker compose $version (first time: 5-7 minutes)" >&2
(cd "$mod" && go get "github.com/docker/compose/v2/cmd@$version" >/dev/null 2>&1 &&
  go build -o "$plugin" github.com/docker/compose/v2/cmd)
echo "$version" >"$mod/version"
echo "tools: $plugin" >&2
