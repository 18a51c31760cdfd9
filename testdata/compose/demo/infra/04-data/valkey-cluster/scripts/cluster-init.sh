#!/bin/sh
# Forms the cluster (3 masters, 3 replicas). Idempotent (REQ-SPC-AUTO-001):
# all 16384 slots assigned -> already formed, exit 0; every node alone ->
# create; anything else is a partial state: refuse, exit 1.
# Docker DNS only (REQ-SPC-AUTO-003): names are resolved here, at run time.
set -eu
MAX_RETRIES="${MAX_RETRIES:-30}"
addrs=""
for n in $NODES; do
  i=0
  until redis-cli -h "$n" -p 6379 ping >/dev/null 2>&1; do
    i=$((i + 1))
    if [ "$i" -ge "$MAX_RETRIES" ]; then
      echo "valkey-cluster-init: $n:6379 not ready after $MAX_RETRIES attempts" >&2
      exit 1
    fi
    sleep 1
  done
  ip="$(getent hosts "$n" | awk '{print $1; exit}')"
  addrs="$addrs $ip:6379"
done
first="${NODES%% *}"
info="$(redis-cli -h "$first" -p 6379 cluster info | tr -d '\r')"
case "$info" in
  *cluster_slots_assigned:16384*)
    echo "valkey-cluster-init: cluster already formed"
    exit 0 ;;
esac
for n in $NODES; do
  known="$(redis-cli -h "$n" -p 6379 cluster info | tr -d '\r' | sed -n 's/^cluster_known_nodes://p')"
  if [ "$known" != "1" ]; then
    echo "valkey-cluster-init: partial cluster state ($n knows $known nodes); refusing to continue" >&2
    exit 1
  fi
done
# shellcheck disable=SC2086
redis-cli --cluster create $addrs --cluster-replicas 1 --cluster-yes
# Formed when every node sees cluster_state:ok and the same roles (a
# replica's role reaches the other nodes by gossip, after create returns).
total=0
for n in $NODES; do total=$((total + 1)); done
replicas=$((total / 2))
converged() {
  for n in $NODES; do
    redis-cli -h "$n" -p 6379 cluster info | tr -d '\r' | grep -q '^cluster_state:ok' || return 1
    nodes="$(redis-cli -h "$n" -p 6379 cluster nodes)"
    [ "$(printf '%s\n' "$nodes" | awk '$3 ~ /slave/' | wc -l)" -eq "$replicas" ] || return 1
    [ "$(printf '%s\n' "$nodes" | awk '$3 ~ /master/' | wc -l)" -eq "$((total - replicas))" ] || return 1
  done
}
i=0
until converged; do
  i=$((i + 1))
  if [ "$i" -ge "$((MAX_RETRIES * 5))" ]; then
    echo "valkey-cluster-init: cluster did not converge (cluster_state:ok, $replicas replicas on every node)" >&2
    exit 1
  fi
  sleep 0.2
done
echo "valkey-cluster-init: cluster formed"
