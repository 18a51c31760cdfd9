#!/bin/sh
# Creates the index template and the indexes. Idempotent (REQ-AUTO-01):
# PUT of a template replaces it; an index is created only when HEAD says 404.
set -eu
MAX_RETRIES="${MAX_RETRIES:-30}"
i=0
until wget -q -O /dev/null "$OPENSEARCH_URL/_cluster/health"; do
  i=$((i + 1))
  if [ "$i" -ge "$MAX_RETRIES" ]; then
    echo "os-init: $OPENSEARCH_URL not ready after $MAX_RETRIES attempts" >&2
    exit 1
  fi
  sleep 2
done
wget -q -O - --header 'Content-Type: application/json' --method PUT \
  --body-file /os-init/logs-template.json "$OPENSEARCH_URL/_index_template/logs" >/dev/null
for idx in logs-app audit; do
  if ! wget -q --spider "$OPENSEARCH_URL/$idx"; then
    wget -q -O /dev/null --method PUT "$OPENSEARCH_URL/$idx"
  fi
done
echo "os-init: template and indexes ready"
