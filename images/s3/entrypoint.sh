#!/bin/sh
# Starts versitygw with credentials read from secret files (never from the
# command line): S3_ACCESS_KEY_FILE and S3_SECRET_KEY_FILE.
set -eu
ROOT_ACCESS_KEY="$(cat "${S3_ACCESS_KEY_FILE:-/run/secrets/s3_access_key}")"
ROOT_SECRET_KEY="$(cat "${S3_SECRET_KEY_FILE:-/run/secrets/s3_secret_key}")"
export ROOT_ACCESS_KEY ROOT_SECRET_KEY
mkdir -p /data /versions
exec versitygw --port "${S3_PORT:-:9000}" posix --versioning-dir /versions /data
