#!/usr/bin/env bash
# Make a local PostgreSQL 15 + PostGIS 3 + pgRouting server ready for the tests.
# Installs the Debian packages when missing, starts the cluster, and makes a
# superuser role `urbangrid` (password `urbangrid`) that the tests use to create
# and drop their throw-away databases. Prints the admin DSN on its last line.
set -euo pipefail

PG_VERSION=15
ROLE=urbangrid
SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need=()
for pkg in "postgresql-$PG_VERSION" "postgresql-$PG_VERSION-postgis-3" "postgresql-$PG_VERSION-pgrouting"; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need+=("$pkg")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "installing ${need[*]}" >&2
  $SUDO apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need[@]}" >&2
fi

if ! pg_lsclusters -h 2>/dev/null | grep -q "^$PG_VERSION  *main"; then
  $SUDO pg_createcluster "$PG_VERSION" main >&2
fi
if ! pg_lsclusters -h | awk -v v="$PG_VERSION" '$1==v && $2=="main" {print $4}' | grep -q online; then
  $SUDO pg_ctlcluster "$PG_VERSION" main start >&2
fi
PORT=$(pg_lsclusters -h | awk -v v="$PG_VERSION" '$1==v && $2=="main" {print $3}')

for _ in $(seq 1 30); do
  pg_isready -q -h localhost -p "$PORT" && break
  sleep 1
done

psql_admin() { $SUDO -u postgres psql -p "$PORT" -v ON_ERROR_STOP=1 -qAtX "$@"; }
if [ -z "$SUDO" ]; then psql_admin() { su postgres -c "psql -p $PORT -v ON_ERROR_STOP=1 -qAtX $(printf '%q ' "$@")"; }; fi
if [ "$(psql_admin -c "SELECT 1 FROM pg_roles WHERE rolname = '$ROLE'")" != 1 ]; then
  psql_admin -c "CREATE ROLE $ROLE LOGIN SUPERUSER PASSWORD '$ROLE'" >&2
fi
echo "postgresql://$ROLE:$ROLE@localhost:$PORT/postgres"
