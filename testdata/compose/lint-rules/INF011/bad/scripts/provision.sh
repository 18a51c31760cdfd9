#!/bin/sh
set -eux
pw="$(cat /run/secrets/db_password)"
echo "connecting with password $pw"
cat /run/secrets/db_password
provision
