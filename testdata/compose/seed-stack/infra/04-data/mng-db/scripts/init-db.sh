#!/bin/sh
# Creates the application role and database. Idempotent (REQ-SPC-AUTO-001):
# CREATE ROLE/DATABASE only when missing. Never prints a secret.
set -eu
MAX_RETRIES="${MAX_RETRIES:-30}"
PGPASSWORD="$(cat "$PGPASSWORD_FILE")"
export PGPASSWORD
app_pw="$(cat /run/secrets/mng_app_password)"
i=0
until pg_isready -h "$PGHOST" -U "$PGUSER" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge "$MAX_RETRIES" ]; then
    echo "mng-pg-init: $PGHOST:5432 not ready after $MAX_RETRIES attempts" >&2
    exit 1
  fi
  sleep 1
done
psql -v ON_ERROR_STOP=1 -v role="$APP_ROLE" -v db="$APP_DB" -v pw="$app_pw" <<'SQL'
SELECT format('CREATE ROLE %I LOGIN', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'role')\gexec
ALTER ROLE :"role" WITH LOGIN PASSWORD :'pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'role') WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'db')\gexec
SQL
echo "mng-pg-init: role $APP_ROLE and database $APP_DB ready"
