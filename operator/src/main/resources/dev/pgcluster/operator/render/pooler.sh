#!/bin/sh
# Starts PgBouncer in a pooler pod: the configuration the operator rendered (pgbouncer.ini in the
# ConfigMap), completed with what only the pod knows: its address, where its files are mounted, and
# the pooler role's password (from its Secret, through the environment; never in the ConfigMap).
set -eu
: "${POOLER_CONFIG_DIR:?}" "${POOLER_RUN_DIR:?}" "${POD_IP:?}" "${POOLER_USER:?}" "${POOLER_PASSWORD:?}"
umask 077
# auth_file holds only the role PgBouncer looks the other passwords up with (auth_query).
printf '"%s" "%s"\n' "$POOLER_USER" "$POOLER_PASSWORD" > "$POOLER_RUN_DIR/userlist.txt"
{
  cat "$POOLER_CONFIG_DIR/pgbouncer.ini"
  echo "listen_addr = $POD_IP"
  echo "unix_socket_dir = $POOLER_RUN_DIR"
  echo "auth_file = $POOLER_RUN_DIR/userlist.txt"
  if [ -n "${POOLER_CA_FILE:-}" ]; then
    # The cluster serves TLS: talk to the primary over it and check its certificate names the -rw Service.
    echo "server_tls_sslmode = verify-full"
    echo "server_tls_ca_file = $POOLER_CA_FILE"
  fi
} > "$POOLER_RUN_DIR/pgbouncer.ini"
exec pgbouncer "$POOLER_RUN_DIR/pgbouncer.ini"
