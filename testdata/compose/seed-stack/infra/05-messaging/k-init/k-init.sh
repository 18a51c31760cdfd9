#!/bin/sh
# Creates the telemetry stream topics. Idempotent (REQ-AUTO-01): --if-not-exists.
set -eu
MAX_RETRIES="${MAX_RETRIES:-30}"
kt=/opt/kafka/bin/kafka-topics.sh
i=0
until "$kt" --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge "$MAX_RETRIES" ]; then
    echo "k-init: $BOOTSTRAP not ready after $MAX_RETRIES attempts" >&2
    exit 1
  fi
  sleep 2
done
for t in $STREAMS; do
  "$kt" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists --topic "$t" --partitions 3 --replication-factor 3
done
echo "k-init: streams ready"
