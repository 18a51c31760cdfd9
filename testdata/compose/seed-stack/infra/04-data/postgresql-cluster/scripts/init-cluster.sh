#!/bin/sh
# Creates the application role and its databases. Idempotent (REQ-SPC-AUTO-001).
set -eu
MAX_RETRIES="${MAX_RETRIES:-30}"
PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
export PGPASSWORD
app_pw="$(cat /run/secrets/pg_app_password)"
i=0
until pg_isready -h "$PGHOST" -U "$PGUSER" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge "$MAX_RETRIES" ]; then
    echo "pg-cluster-init: $PGHOST:5432 not ready after $MAX_RETRIES attempts" >&2
    exit 1
  fi
  sleep 1
done
psql -v ON_ERROR_STOP=1 -v role="$APP_ROLE" -v pw="$app_pw" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role')\gexec
ALTER ROLE :"role" WITH LOGIN PASSWORD :'pw';
SQL
for db in $APP_DBS; do
  psql -v ON_ERROR_STOP=1 -v db="$db" -v role="$APP_ROLE" <<'SQL'
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db')\gexec
SQL
done
echo "pg-cluster-init: role $APP_ROLE and databases ready: $APP_DBS"
