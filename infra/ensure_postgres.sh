#!/usr/bin/env bash
# Make sure the PostgreSQL server for URL ($1) answers; start the local Debian cluster if it is stopped.
set -u
url="${1:-postgresql+psycopg://postgres@127.0.0.1:5432/test}"
plain="${url/+psycopg/}"
ready() { pg_isready -q -d "$plain" 2>/dev/null || psql "$plain" -Atc 'select 1' >/dev/null 2>&1; }
ready && exit 0
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  for version in $(ls /etc/postgresql); do
    pg_ctlcluster --skip-systemctl-redirect "$version" main start >/dev/null 2>&1 || true
  done
  for _ in $(seq 1 30); do ready && exit 0; sleep 1; done
fi
exit 1
