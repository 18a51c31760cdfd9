#!/bin/sh
# Creates the Kafka topics. Idempotent (REQ-AUTO-01): --if-not-exists.
# Fails fast (REQ-AUTO-03): bounded retries, exit 1 when the brokers never answer.
set -eu
MAX_RETRIES="${MAX_RETRIES:-30}"
kt=/opt/kafka/bin/kafka-topics.sh
i=0
until "$kt" --bootstrap-server "$BOOTSTRAP" --list >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge "$MAX_RETRIES" ]; then
    echo "kafka-init: $BOOTSTRAP not ready after $MAX_RETRIES attempts" >&2
    exit 1
  fi
  sleep 2
done
for spec in $TOPICS; do
  name="${spec%%:*}"; rest="${spec#*:}"; parts="${rest%%:*}"; rf="${rest#*:}"
  "$kt" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$name" --partitions "$parts" --replication-factor "$rf"
done
echo "kafka-init: topics ready"
