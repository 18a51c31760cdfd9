#!/usr/bin/env bash
# make demo: run the init phase of the bundled demo stack (testdata/compose/demo)
# with infractl up, then check it with infractl verify (exit code: verify's).
# `make demo-down` removes it.
set -euo pipefail
cd "$(dirname "$0")/.."
flags=(-f testdata/compose/demo/compose.yaml --env-file testdata/compose/demo/.env.example -p infractl-demo)
echo "== infractl plan" >&2
bin/infractl plan "${flags[@]}"
echo >&2
echo "== infractl up (the init phase, through the Docker Engine API)" >&2
bin/infractl up "${flags[@]}"
echo >&2
echo "== infractl verify --rerun --audit (VAL-AUTO-001/002, NFR, secrets, VAL-SPC-101, VAL-SPC-103)" >&2
bin/infractl verify "${flags[@]}" --rerun --audit
cat >&2 <<'MSG'

Where to look:
  init logs (secrets redacted):  testdata/compose/demo/.infractl/infractl-demo/logs/
  containers:                    docker ps -a --filter label=com.docker.compose.project=infractl-demo
  remove everything:             make demo-down
MSG
