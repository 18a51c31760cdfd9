#!/bin/sh
set -eu
until nc -w 2 db 5432 </dev/null; do
  sleep 1
done
while true; do
  provision && break
  sleep 2
done
