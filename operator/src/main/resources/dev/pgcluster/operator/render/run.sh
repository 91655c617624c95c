#!/bin/bash
# pgcluster-operator main container: refresh the operator-rendered configuration, then become postgres.
set -euo pipefail
: "${PGDATA:?}" "${CONFIG_DIR:?}" "${SOCKET_DIR:?}" "${POD_IP:?}" "${POD_NAME:?}" "${TOPOLOGY_DIR:?}"
# Self-fencing: a container restart does not rerun the init container, so a former primary restarted
# after the Lease moved would come back writable. Refuse; the operator deletes the pod and the init
# container rejoins it as a standby (pg_rewind).
primary="$(cat "$TOPOLOGY_DIR/primary" 2>/dev/null || true)"
if [ ! -f "$PGDATA/standby.signal" ] && [ -n "$primary" ] && [ "$primary" != "$POD_NAME" ]; then
  echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) run[$POD_NAME]: REFUSING to start as a primary: the primary Lease names" \
    "$primary. Waiting for the operator to rejoin this instance as a standby."
  exit 1
fi
# Start fenced: a primary takes writes only while its agent holds a fresh grant (the primary Lease), and
# the agent has not renewed it yet. Read-only until then; the agent lifts this fence after its first
# renewal (see agent.GrantPolicy), back to the read-only setting before it. An earlier fence stays as it is.
# The marker's name is SyncReplication.AGENT_FENCE_MARKER.
if [ ! -f "$PGDATA/standby.signal" ]; then
  auto="$PGDATA/postgresql.auto.conf"
  touch "$auto"
  fenced="$(sed -n "s/^[[:space:]]*pgcluster\.fenced[[:space:]]*=[[:space:]]*'\(.*\)'[[:space:]]*\$/\1/p" "$auto" | tail -n 1)"
  if [ -z "$fenced" ]; then
    before="$(sed -n "s/^[[:space:]]*default_transaction_read_only[[:space:]]*=[[:space:]]*'\{0,1\}\([a-z]*\).*/\1/p" "$auto" \
      | tail -n 1)"
    [ "$before" = on ] || before=off
    printf "default_transaction_read_only = 'on'\npgcluster.fenced = '%s|starting: the agent has not renewed the primary Lease yet'\n" \
      "$before" >> "$auto"
  fi
fi
# The replication password for primary_conninfo's passfile (bootstrap.sh writes the same file; a
# container restart does not rerun it, and the password never goes into primary_conninfo itself).
if [ -n "${PG_REPLICATION_PASSWORD:-}" ]; then
  (umask 077; printf '*:*:*:%s:%s\n' "${PG_REPLICATION_USER:-replication}" \
    "$(printf '%s' "$PG_REPLICATION_PASSWORD" | sed -e 's/\\/\\\\/g' -e 's/:/\\:/g')" \
    > "$SOCKET_DIR/replication.pgpass")
fi
# The ConfigMap's files are read where they are mounted, not copied: the kubelet refreshes them when
# the resource changes, and the operator reloads the server once they hold the new configuration.
printf "include '%s/postgresql.conf'\n" "$CONFIG_DIR" > "$PGDATA/pgcluster.conf"
# TLS (spec.tls.enabled): the Secret's files are readable by the postgres group, which PostgreSQL
# refuses for a key its own user owns; it serves copies only postgres reads, in a directory the agent
# shares: when the Secret changes, the agent replaces them and reloads (agent.ServedCertificate).
tls=()
if [ -n "${TLS_DIR:-}" ]; then
  served="${TLS_SERVED_DIR:-$SOCKET_DIR/tls}"
  mkdir -p "$served"
  chmod 0700 "$served"
  install -m 0600 "$TLS_DIR/tls.crt" "$served/server.crt"
  install -m 0600 "$TLS_DIR/tls.key" "$served/server.key"
  install -m 0600 "$TLS_DIR/ca.crt" "$served/ca.crt"
  rm -rf "$(dirname "$PGDATA")/tls"  # where earlier versions kept the key copy
  tls=(-c ssl=on -c ssl_cert_file="$served/server.crt" -c ssl_key_file="$served/server.key"
    -c ssl_ca_file="$served/ca.crt")
fi
# Listen on the pod address only: Services and the operator use it, local tools use the socket.
exec postgres -D "$PGDATA" -c listen_addresses="$POD_IP" -c port="${PGPORT:-5432}" \
  -c unix_socket_directories="$SOCKET_DIR" -c hba_file="$CONFIG_DIR/pg_hba.conf" "${tls[@]}"
