#!/bin/sh
set -eu
MAX_RETRIES="${MAX_RETRIES:-30}"
pw="$(cat /run/secrets/db_password)"
i=0
until nc -w 2 db 5432 </dev/null; do
  i=$((i + 1))
  if [ "$i" -ge "$MAX_RETRIES" ]; then
    echo "db:5432 not ready after $MAX_RETRIES attempts" >&2
    exit 1
  fi
  sleep 1
done
printf "%s" "$pw" | provision --password-stdin
echo "provisioned"
