#!/usr/bin/env bash
# infractl/kafka: a three-broker Kafka-protocol cluster (franz-go kfake),
# per-broker DNS forwarders, a healthcheck and a topic tool. See kafkaimg.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../goimage.sh" "${IMAGE_PREFIX:-infractl}/kafka:latest" kafkaimg "$here/../.." ./images/kafka/kafkaimg busybox
