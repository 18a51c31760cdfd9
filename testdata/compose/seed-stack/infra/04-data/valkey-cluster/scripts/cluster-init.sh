#!/bin/sh
# Forms the 6-node Valkey cluster (3 masters, 3 replicas).
# Idempotent (REQ-SPC-AUTO-001): a formed cluster is accepted, a partial one is refused.
set -eu
MAX_RETRIES="${MAX_RETRIES:-30}"
first="${NODES%% *}"
host="${first%:*}"
i=0
until valkey-cli -h "$host" -p 6379 ping >/dev/null 2>&1; do
  i=$((i + 1))
  if [ "$i" -ge "$MAX_RETRIES" ]; then
    echo "valkey-cluster-init: $first not ready after $MAX_RETRIES attempts" >&2
    exit 1
  fi
  sleep 1
done
info="$(valkey-cli -h "$host" -p 6379 cluster info)"
case "$info" in
  *cluster_slots_assigned:16384*) echo "valkey-cluster-init: cluster already formed"; exit 0 ;;
esac
known="$(echo "$info" | sed -n 's/^cluster_known_nodes:\([0-9]*\).*/\1/p')"
if [ "$known" != "1" ]; then
  echo "valkey-cluster-init: partial cluster state ($known known nodes); refusing to continue" >&2
  exit 1
fi
# shellcheck disable=SC2086
valkey-cli --cluster create $NODES --cluster-replicas 1 --cluster-yes
