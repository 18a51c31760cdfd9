#!/bin/sh
# Imports the dashboards mounted under /dashboards through the Grafana HTTP API.
# Idempotent (REQ-AUTO-01): overwrite=true replaces a dashboard with the same uid.
set -eu
MAX_RETRIES="${MAX_RETRIES:-30}"
pw="$(cat /run/secrets/grafana_admin_password)"
i=0
until wget -q -O /dev/null "$GRAFANA_URL/api/health"; do
  i=$((i + 1))
  if [ "$i" -ge "$MAX_RETRIES" ]; then
    echo "grafana-init: $GRAFANA_URL not ready after $MAX_RETRIES attempts" >&2
    exit 1
  fi
  sleep 2
done
for f in /dashboards/*.json; do
  body="{\"dashboard\": $(cat "$f"), \"overwrite\": true}"
  wget -q -O /dev/null --header 'Content-Type: application/json' \
    --header "Authorization: Basic $(printf 'admin:%s' "$pw" | base64)" \
    --post-data "$body" "$GRAFANA_URL/api/dashboards/db"
done
echo "grafana-init: dashboards imported"
