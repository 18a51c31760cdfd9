#!/bin/sh
# Creates the MinIO buckets. Idempotent (REQ-SPC-AUTO-001): --ignore-existing.
# Fails fast (REQ-SPC-AUTO-002): bounded retries, exit 1 when minio never answers.
set -eu
MAX_RETRIES="${MAX_RETRIES:-30}"
user="$(cat /run/secrets/minio_root_user)"
pass="$(cat /run/secrets/minio_root_password)"
i=0
until mc alias set local http://minio:9000 "$user" "$pass" >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge "$MAX_RETRIES" ]; then
    echo "minio-create-buckets: minio:9000 not ready after $MAX_RETRIES attempts" >&2
    exit 1
  fi
  sleep 2
done
for b in $BUCKETS; do
  mc mb --ignore-existing "local/$b"
done
echo "minio-create-buckets: buckets ready: $BUCKETS"
