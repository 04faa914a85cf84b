#!/bin/sh
# Installs the PostgreSQL server binaries the storage tests and a cluster node need
# (Debian/Ubuntu, as root). Idempotent: does nothing when /usr/lib/postgresql/*/bin/postgres exists.
# Storm runs its own clusters (tests/harness/postgres.ts, or the operator's); the default cluster
# the Debian package creates and starts is stopped so it holds no port and no memory.
set -eu

for bin in /usr/lib/postgresql/*/bin/postgres; do
  if [ -x "$bin" ]; then
    echo "PostgreSQL server already installed: $bin"
    exit 0
  fi
done

if [ "$(id -u)" -ne 0 ]; then
  echo "Cannot install PostgreSQL: run this script as root" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update
apt-get install -y --no-install-recommends postgresql

# pg_lsclusters prints "version name port status ...": stop every cluster the package started.
if command -v pg_lsclusters >/dev/null 2>&1; then
  pg_lsclusters --no-header 2>/dev/null | while read -r version name _rest; do
    pg_ctlcluster "$version" "$name" stop 2>/dev/null || true
  done
fi
if command -v service >/dev/null 2>&1; then
  service postgresql stop >/dev/null 2>&1 || true
fi

ls /usr/lib/postgresql/*/bin/postgres
