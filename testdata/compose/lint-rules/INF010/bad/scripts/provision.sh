#!/bin/sh
set -eu
# Give the database time to start.
sleep 15
provision
