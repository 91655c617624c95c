#!/bin/bash
# pgcluster-operator main container: refresh the operator-rendered configuration, then become postgres.
set -euo pipefail
: "${PGDATA:?}" "${CONFIG_DIR:?}" "${SOCKET_DIR:?}" "${POD_IP:?}"
cp "$CONFIG_DIR/postgresql.conf" "$PGDATA/pgcluster.conf"
cp "$CONFIG_DIR/pg_hba.conf" "$PGDATA/pg_hba.conf"
# Listen on the pod address only: Services and the operator use it, local tools use the socket.
exec postgres -D "$PGDATA" -c listen_addresses="$POD_IP" -c port="${PGPORT:-5432}" \
  -c unix_socket_directories="$SOCKET_DIR"
