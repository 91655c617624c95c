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
# The ConfigMap's files are read where they are mounted, not copied: the kubelet refreshes them when
# the resource changes, and the operator reloads the server once they hold the new configuration.
printf "include '%s/postgresql.conf'\n" "$CONFIG_DIR" > "$PGDATA/pgcluster.conf"
# Listen on the pod address only: Services and the operator use it, local tools use the socket.
exec postgres -D "$PGDATA" -c listen_addresses="$POD_IP" -c port="${PGPORT:-5432}" \
  -c unix_socket_directories="$SOCKET_DIR" -c hba_file="$CONFIG_DIR/pg_hba.conf"
