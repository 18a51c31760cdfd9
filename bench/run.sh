#!/usr/bin/env bash
# make bench: infractl vs docker compose v5.6.0, side by side on the same engine
# in the same run. Writes bench/results/<date>.json and prints the table.
# Benchmarks, not tests: nothing here asserts a time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${BENCH_RUNS:-5}"
out="bench/results/$(date -u +%Y-%m-%d).json"
# The bench is its own Go module (bench/go.mod): built apart from the product.
go build -C bench -o ../bin/initbench ./initbench
bin/initbench -runs "$runs" -out "$out" -infractl bin/infractl -compose-config .tools/docker ${BENCH_ARGS:-} | tee "${out%.json}.txt"
# The Go benchmark of the model (loading a generated 500-service project).
go test -run XXX -bench Load500 -benchtime 5x -benchmem ./internal/compose/ | tee -a "${out%.json}.txt"
