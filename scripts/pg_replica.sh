#!/usr/bin/env bash
# A streaming read replica of the PostgreSQL at 127.0.0.1:5432, as cluster "replica" on port
# 5433 (Debian's pg_createcluster + pg_basebackup -R). For the tests (.ci/run) and developers.
# Idempotent: a replica already streaming is left as it is, a stopped one is started, anything
# else is rebuilt. Fails loudly. Run as root (or postgres); the primary allows replication
# connections from 127.0.0.1 (a pg_hba line is added if missing).
set -euo pipefail

PRIMARY_HOST=127.0.0.1
PRIMARY_PORT=${PRIMARY_PORT:-5432}
REPLICA_PORT=${REPLICA_PORT:-5433}
NAME=replica
VERSION=$(psql -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -Atc "SHOW server_version_num" | cut -c1-2)
as_postgres() { if [ "$(id -un)" = postgres ]; then "$@"; else runuser -u postgres -- "$@"; fi; }
sql() { psql -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -Atc "$1"; }
replica_sql() { psql -h "$PRIMARY_HOST" -p "$REPLICA_PORT" -U postgres -Atc "$1"; }
die() { echo "pg_replica: $*" >&2; exit 1; }

streaming() {
  pg_isready -q -h "$PRIMARY_HOST" -p "$REPLICA_PORT" &&
    [ "$(replica_sql 'SELECT pg_is_in_recovery()' 2>/dev/null)" = t ] &&
    [ "$(replica_sql "SELECT count(*) FROM pg_stat_wal_receiver WHERE status = 'streaming'" 2>/dev/null)" = 1 ]
}

wait_streaming() {
  for _ in $(seq 1 60); do
    streaming && return 0
    sleep 1
  done
  tail -n 30 "/var/log/postgresql/postgresql-$VERSION-$NAME.log" >&2 || true
  die "the replica on port $REPLICA_PORT is not streaming from $PRIMARY_HOST:$PRIMARY_PORT"
}

# --- the primary: WAL for replicas, and replication connections from loopback ---------------
[ "$(sql 'SHOW wal_level')" != minimal ] || die "the primary's wal_level is minimal: set it to replica and restart it"
[ "$(sql 'SHOW max_wal_senders')" -gt 0 ] || die "the primary's max_wal_senders is 0: raise it and restart it"
hba=$(sql 'SHOW hba_file')
if ! grep -qE '^\s*host\s+replication\s+all\s+127\.0\.0\.1/32' "$hba"; then
  echo "pg_replica: allowing replication connections from 127.0.0.1 in $hba"
  echo "host replication all 127.0.0.1/32 trust" >>"$hba"
  sql 'SELECT pg_reload_conf()' >/dev/null
fi

# --- the replica ------------------------------------------------------------------------------
if pg_lsclusters -h | awk -v v="$VERSION" -v n="$NAME" '$1 == v && $2 == n' | grep -q .; then
  pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$NAME" start 2>/dev/null || true
  if streaming || { sleep 2 && streaming; }; then
    echo "pg_replica: $VERSION/$NAME on port $REPLICA_PORT is streaming"
    exit 0
  fi
  echo "pg_replica: $VERSION/$NAME exists but is not streaming: rebuilding it"
  pg_dropcluster --stop "$VERSION" "$NAME"
fi
pg_createcluster "$VERSION" "$NAME" -p "$REPLICA_PORT" >/dev/null
data=$(pg_lsclusters -h | awk -v v="$VERSION" -v n="$NAME" '$1 == v && $2 == n {print $6}')
[ -n "$data" ] || die "pg_createcluster made no data directory"
rm -rf "${data:?}"/*
as_postgres pg_basebackup -h "$PRIMARY_HOST" -p "$PRIMARY_PORT" -U postgres -D "$data" -R -X stream
# The same loopback trust as the primary, so the tests connect the same way to both.
cp "$hba" "/etc/postgresql/$VERSION/$NAME/pg_hba.conf"
pg_ctlcluster --skip-systemctl-redirect "$VERSION" "$NAME" start
wait_streaming
echo "pg_replica: $VERSION/$NAME on port $REPLICA_PORT is streaming from $PRIMARY_HOST:$PRIMARY_PORT"
