#!/bin/sh
# Runs PostgreSQL 15 from the Debian image: initdb once (as the postgres
# user, password from the secret file), then the server on all addresses
# with scram authentication for the network.
set -eu
data=/var/lib/postgresql/data
mkdir -p "$data" /run/postgresql
chown -R postgres:postgres "$data" /run/postgresql
chmod 700 "$data"
if [ ! -s "$data/PG_VERSION" ]; then
  pw=/tmp/pg-password
  cp "$POSTGRES_PASSWORD_FILE" "$pw"
  chown postgres "$pw"
  runuser -u postgres -- initdb -D "$data" -U postgres --pwfile="$pw" --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pw"
  echo "host all all all scram-sha-256" >>"$data/pg_hba.conf"
fi
exec runuser -u postgres -- postgres -D "$data" -k /run/postgresql -c listen_addresses='*'
