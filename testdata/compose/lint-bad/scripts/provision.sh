#!/bin/sh
# Everything the specs forbid in an init script.
set -ex
pw="$(cat /run/secrets/db_password)"
sleep 20
until nc -w 2 db 5432 </dev/null; do
  sleep 1
done
echo "using password $pw"
