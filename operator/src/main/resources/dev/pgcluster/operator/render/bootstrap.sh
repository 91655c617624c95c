#!/bin/bash
# pgcluster-operator init container: prepares $PGDATA for this pod's role, then exits.
# Rendered into the cluster's ConfigMap by the operator. Every path comes from the environment.
#
#   no data, holder of the primary Lease, cluster never initialized -> initdb (the only initdb ever), or a
#                                                                       restore from the store (RECOVERY_STANZA)
#   no data, holder, cluster initialized                             -> refuse (a lost volume must not
#                                                                       become a new empty primary)
#   no data, not the holder                                          -> pg_basebackup from -rw with a slot
#   data, not the holder, no standby.signal (a former primary)       -> pg_rewind, else a fresh clone
#   data otherwise                                                   -> refresh role settings only
set -euo pipefail

: "${PGDATA:?}" "${POD_NAME:?}" "${PRIMARY_HOST:?}" "${TOPOLOGY_DIR:?}" "${SOCKET_DIR:?}"
: "${PG_SUPERUSER_PASSWORD:?}" "${PG_REPLICATION_USER:?}" "${PG_REPLICATION_PASSWORD:?}"
PGPORT="${PGPORT:-5432}"
CLONE_WAIT_SECONDS="${CLONE_WAIT_SECONDS:-60}"

log() { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) bootstrap[$POD_NAME]: $*"; }

primary="$(cat "$TOPOLOGY_DIR/primary" 2>/dev/null || true)"
initialized="$(cat "$TOPOLOGY_DIR/initialized" 2>/dev/null || echo false)"
ordinal="${POD_NAME##*-}"
slot="pgc_${POD_NAME//-/_}"   # same rule as PgClusterNames.slotName

if [ -z "$primary" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  log "the topology does not name a primary yet; the operator writes it first. Retrying later."
  exit 1
fi

# The replication password is read from a password file, never written into primary_conninfo:
# PostgreSQL logs a changed primary_conninfo in full, and the role file lives on the data volume.
# run.sh writes the same file in the postgres container (same emptyDir).
REPLICATION_PASSFILE="$SOCKET_DIR/replication.pgpass"
write_passfile() {
  (umask 077; printf '*:*:*:%s:%s\n' "$PG_REPLICATION_USER" \
    "$(printf '%s' "$PG_REPLICATION_PASSWORD" | sed -e 's/\\/\\\\/g' -e 's/:/\\:/g')" > "$REPLICATION_PASSFILE")
}
write_passfile

# A primary whose node is lost goes silent: no reset ever comes, and a libpq connection to it would wait
# forever (a chaos run saw pg_rewind hang for minutes). Keepalives find an idle dead peer in 11 s,
# tcp_user_timeout one that leaves sent data unacknowledged in 15 s; then the step fails: a check exits
# and the container starts again, a failed rewind sets the data aside and clones afresh.
NET_TIMEOUTS="connect_timeout=5 keepalives=1 keepalives_idle=5 keepalives_interval=2 keepalives_count=3 tcp_user_timeout=15000"

# With TLS (TLS_DIR set) a standby verifies that the -rw Service answers with the cluster's certificate.
replication_conninfo() {
  local ssl="sslmode=prefer"
  if [ -n "${TLS_DIR:-}" ]; then ssl="sslmode=verify-full sslrootcert=$TLS_DIR/ca.crt"; fi
  echo "host=$PRIMARY_HOST port=$PGPORT user=$PG_REPLICATION_USER passfile=$REPLICATION_PASSFILE application_name=$POD_NAME $ssl $NET_TIMEOUTS"
}

# The current primary as the superuser, for the rewind and the checks before a standby starts.
primary_source="host=$PRIMARY_HOST port=$PGPORT user=postgres dbname=postgres $NET_TIMEOUTS"

wait_for_primary() {
  local start=$SECONDS
  # Polled twice a second: a new cluster's standbys wait here for the first primary.
  until pg_isready -q -h "$PRIMARY_HOST" -p "$PGPORT" -t 2; do
    if [ $((SECONDS - start)) -ge "$CLONE_WAIT_SECONDS" ]; then
      log "primary service $PRIMARY_HOST:$PGPORT not ready after $((SECONDS - start))s; giving up this attempt"
      exit 1
    fi
    sleep 0.5
  done
}

# The Lease's new holder may still be a standby for a moment (it is promoted once the former primary's
# grant is over); the fork point, the divergence report and the rewind need it promoted.
wait_until_promoted() {
  local start=$SECONDS
  local source="$primary_source"
  until [ "$(PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -X -Atq -d "$source" -c "SELECT pg_is_in_recovery()" \
      2>/dev/null)" = f ]; do
    if [ $((SECONDS - start)) -ge "$CLONE_WAIT_SECONDS" ]; then
      log "$PRIMARY_HOST still not a promoted primary after $((SECONDS - start))s; giving up this attempt"
      exit 1
    fi
    sleep 0.5
  done
}

# Settings that depend on the role live in pgcluster.role.conf, included by postgresql.conf.
write_role_conf() {
  local role="$1"
  {
    echo "# written by bootstrap.sh at pod start: role=$role"
    if [ "$role" = standby ]; then
      echo "primary_conninfo = '$(replication_conninfo)'"
      if [ "${REPLICATION_SLOTS:-true}" = true ]; then
        echo "primary_slot_name = '$slot'"
      fi
      echo "recovery_target_timeline = 'latest'"
      if [ -n "${DELAYED_FROM_ORDINAL:-}" ] && [ "$ordinal" -ge "$DELAYED_FROM_ORDINAL" ]; then
        echo "recovery_min_apply_delay = '$APPLY_DELAY'"
      fi
    fi
  } > "$PGDATA/pgcluster.role.conf"
  if [ "$role" = standby ]; then
    touch "$PGDATA/standby.signal"
    # pglogical slots a former primary kept (pg_rewind leaves pg_replslot alone): on a standby of another
    # primary they only hold WAL and catalog rows back; that primary has its own (the operator makes them
    # again there). Not while the primary record is being rebuilt: this may be the primary again.
    if [ -n "$primary" ] && [ "$POD_NAME" != "$primary" ]; then
      rm -rf "$PGDATA"/pg_replslot/pgl_*
    fi
  else
    rm -f "$PGDATA/standby.signal"
  fi
}

write_postgresql_conf() {
  local dir="$1"
  cat > "$dir/postgresql.conf" <<CONF
# Managed by pgcluster-operator. Settings: pgcluster.conf (includes the ConfigMap's file where it is mounted),
# pgcluster.role.conf (this pod's role), postgresql.auto.conf (ALTER SYSTEM by the operator).
include 'pgcluster.conf'
include_if_exists 'pgcluster.role.conf'
CONF
}

# With spec.walStorage, pg_wal of a data directory being made (initdb, restore, clone) moves to the WAL
# volume and becomes a link to it. What the WAL volume held belonged to a data directory that is gone or
# was set aside with its own WAL (rewind_former_primary); never to the one being made.
place_wal() {  # $1: the new data directory, not yet started
  local dir="$1"
  [ -n "${PG_WAL_DIR:-}" ] || return 0
  [ -L "$dir/pg_wal" ] && [ "$(readlink "$dir/pg_wal")" = "$PG_WAL_DIR" ] && return 0
  rm -rf "$PG_WAL_DIR"
  mkdir -p "$(dirname "$PG_WAL_DIR")"
  if [ -L "$dir/pg_wal" ]; then
    mkdir -m 700 "$PG_WAL_DIR"
    rm "$dir/pg_wal"
  else
    mv "$dir/pg_wal" "$PG_WAL_DIR"
  fi
  ln -s "$PG_WAL_DIR" "$dir/pg_wal"
  log "pg_wal is on the WAL volume ($PG_WAL_DIR)"
}

init_primary() {
  local target="$PGDATA.initdb"
  rm -rf "$target"
  log "initializing a new cluster (initdb with data checksums)"
  initdb -D "$target" --username=postgres --pwfile=<(printf '%s\n' "$PG_SUPERUSER_PASSWORD") \
    --auth=scram-sha-256 --data-checksums --encoding=UTF8 --locale=C
  place_wal "$target"
  write_postgresql_conf "$target"
  cp "$CONFIG_DIR/postgresql.conf" "$target/pgcluster.conf"
  : > "$target/pgcluster.role.conf"
  # Local socket only, and no synchronous standbys: nobody else may see this instance before it is complete.
  pg_ctl -D "$target" -w -t 60 -l "$target/bootstrap-start.log" start \
    -o "-c listen_addresses='' -c unix_socket_directories='$SOCKET_DIR' -c port=$PGPORT -c synchronous_standby_names='' -c archive_mode=off"
  PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PGPORT" -U postgres -d postgres \
    -v repl_user="$PG_REPLICATION_USER" -v repl_pw="$PG_REPLICATION_PASSWORD" \
    -v app_db="$APP_DATABASE" -v app_owner="$APP_OWNER" -v app_pw="$APP_PASSWORD" <<'SQL'
CREATE ROLE :"repl_user" WITH LOGIN REPLICATION PASSWORD :'repl_pw';
CREATE ROLE :"app_owner" WITH LOGIN PASSWORD :'app_pw';
CREATE DATABASE :"app_db" OWNER :"app_owner";
SQL
  create_stanza "$target"
  pg_ctl -D "$target" -w -t 60 -m fast stop
  rm -f "$target/bootstrap-start.log"
  mv "$target" "$PGDATA"
  log "cluster initialized; database $APP_DATABASE owned by $APP_OWNER"
}

# With spec.backup, the stanza is created before the first real start, so the first WAL archived finds
# it. The agent does it too (and retries); a store that cannot be reached now must not stop the cluster.
create_stanza() {  # $1: the data directory of the running server
  if [ -n "${PGBACKREST_STANZA:-}" ]; then
    if PGPASSWORD="$PG_SUPERUSER_PASSWORD" pgbackrest --pg1-path="$1" stanza-create --log-level-console=warn; then
      log "pgBackRest stanza $PGBACKREST_STANZA ready on the store"
    else
      log "pgBackRest stanza-create failed; the agent retries it once the primary runs"
    fi
  fi
}

recovery_failed() {
  log "RECOVERY FAILED: $*"
  if [ -n "${REJOIN_REPORT:-}" ]; then
    printf 'recovery failed: %s' "$*" | head -c 3000 > "$REJOIN_REPORT" || true
  fi
  exit 3
}

# The first primary of a cluster created with bootstrap.recovery: restore the source's backup with
# pgBackRest, replay its archived WAL up to the target, promote (a new timeline), then make the data
# this cluster's own: its passwords, no settings left from the source (ALTER SYSTEM, recovery targets).
# The source's stanza is only read: this instance archives under its own stanza once it runs.
restore_primary() {
  local target="$PGDATA.restore"
  rm -rf "$target"
  mkdir -p "$target"
  chmod 700 "$target"
  local restore_cmd="pgbackrest --stanza=$RECOVERY_STANZA --repo1-path=$RECOVERY_REPO_PATH --pg1-path=$target archive-get %f \"%p\""
  local args=(--stanza="$RECOVERY_STANZA" --repo1-path="$RECOVERY_REPO_PATH" --pg1-path="$target"
    --log-level-console=warn "--recovery-option=restore_command=$restore_cmd")
  case "${RECOVERY_TARGET_TYPE:-default}" in
    time|lsn) args+=(--type="$RECOVERY_TARGET_TYPE" --target="$RECOVERY_TARGET" --target-action=promote) ;;
    *) args+=(--type=default) ;;
  esac
  log "restoring stanza $RECOVERY_STANZA from $RECOVERY_REPO_PATH (target: ${RECOVERY_TARGET_TYPE:-default} ${RECOVERY_TARGET:-latest})"
  local out
  if ! out="$(pgbackrest "${args[@]}" restore 2>&1)"; then
    recovery_failed "pgbackrest restore: $(printf '%s' "$out" | tr '\n' ' ')"
  fi
  [ -z "$out" ] || log "pgbackrest restore: $out"
  place_wal "$target"
  write_postgresql_conf "$target"
  cp "$CONFIG_DIR/postgresql.conf" "$target/pgcluster.conf"
  : > "$target/pgcluster.role.conf"
  rm -f "$target/standby.signal" "$target/pgcluster.archive-error"
  # Only this script may connect while the data is not ours yet: local socket, no network, trust.
  # Archiving stays on: the promotion marks the new timeline's history file for the archive, which this
  # cluster's stanza needs (its first push may fail until create_stanza below; PostgreSQL retries).
  printf 'local all all trust\n' > "$target/pgcluster.restore-hba.conf"
  local startlog="$target/bootstrap-restore.log"
  if ! pg_ctl -D "$target" -w -t 3600 -l "$startlog" start -o "-c listen_addresses='' -c unix_socket_directories='$SOCKET_DIR' \
      -c port=$PGPORT -c synchronous_standby_names='' -c hba_file='$target/pgcluster.restore-hba.conf'"; then
    recovery_failed "PostgreSQL did not start recovery: $(grep -E 'FATAL|PANIC' "$startlog" | tail -3 | tr '\n' ' ')"
  fi
  until [ "$(psql -X -Atq -h "$SOCKET_DIR" -p "$PGPORT" -U postgres -d postgres -c 'SELECT pg_is_in_recovery()' 2>/dev/null)" = f ]; do
    if ! pg_ctl -D "$target" status >/dev/null 2>&1; then
      recovery_failed "PostgreSQL stopped during recovery: $(grep -E 'FATAL|PANIC' "$startlog" | tail -3 | tr '\n' ' ')"
    fi
    sleep 1
  done
  log "recovery complete: $(grep -E 'recovery stopping|last completed transaction|selected new timeline' "$startlog" | tr '\n' ' ')"
  psql -X -v ON_ERROR_STOP=1 -h "$SOCKET_DIR" -p "$PGPORT" -U postgres -d postgres \
    -v su_pw="$PG_SUPERUSER_PASSWORD" -v repl_user="$PG_REPLICATION_USER" -v repl_pw="$PG_REPLICATION_PASSWORD" \
    -v app_db="$APP_DATABASE" -v app_owner="$APP_OWNER" -v app_pw="$APP_PASSWORD" <<'SQL' >/dev/null
ALTER SYSTEM RESET ALL;
ALTER ROLE postgres WITH PASSWORD :'su_pw';
SELECT format('CREATE ROLE %I WITH LOGIN REPLICATION', :'repl_user')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'repl_user') \gexec
ALTER ROLE :"repl_user" WITH LOGIN REPLICATION PASSWORD :'repl_pw';
SELECT format('CREATE ROLE %I WITH LOGIN', :'app_owner')
  WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = :'app_owner') \gexec
ALTER ROLE :"app_owner" WITH LOGIN PASSWORD :'app_pw';
SELECT format('CREATE DATABASE %I OWNER %I', :'app_db', :'app_owner')
  WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'app_db') \gexec
SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots;
SQL
  create_stanza "$target"
  pg_ctl -D "$target" -w -t 60 -m fast stop
  rm -f "$target/pgcluster.restore-hba.conf" "$startlog"
  mv "$target" "$PGDATA"
  log "restored from $RECOVERY_STANZA; this cluster's own timeline begins here"
}

# The operator creates slots too; creating ours here means WAL is retained from the first byte we need.
ensure_slot() {
  if [ "${REPLICATION_SLOTS:-true}" = true ]; then
    pg_receivewal --create-slot --if-not-exists --slot="$slot" -d "$(replication_conninfo)"
  fi
}

clone_standby() {
  local target="$PGDATA.clone"
  rm -rf "$target"
  wait_for_primary
  log "cloning from $PRIMARY_HOST with slot $slot"
  if [ "${REPLICATION_SLOTS:-true}" = true ]; then
    ensure_slot
    pg_basebackup -D "$target" -d "$(replication_conninfo)" -X stream -S "$slot" -c fast --no-password
  else
    pg_basebackup -D "$target" -d "$(replication_conninfo)" -X stream -c fast --no-password
  fi
  place_wal "$target"
  mv "$target" "$PGDATA"
  log "clone complete"
}

lsn_to_int() {
  local hi="${1%/*}" lo="${1#*/}"
  echo $(( (16#$hi << 32) + 16#$lo ))
}

# The fork point of timeline $1 (this data's) in the current primary's timeline history; empty if none.
fork_point() {
  local local_tli="$1" source="$primary_source"
  local primary_tli
  primary_tli="$(PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -X -Atq -d "$source" -c \
    "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int" 2>/dev/null)" || return 0
  [ -n "$primary_tli" ] && [ "$primary_tli" -gt "$local_tli" ] || return 0
  PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -X -Atq -d "$source" \
    -c "SELECT pg_read_file('pg_wal/' || lpad(upper(to_hex($primary_tli)), 8, '0') || '.history')" 2>/dev/null \
    | awk -v t="$local_tli" '$1 == t { print $2 }'
}

# What pg_rewind is about to throw away: this instance's WAL past the point where the current primary's
# timeline forked off ours. The segments are kept aside (7 days) for forensics, and a summary goes to
# the operator as this container's termination message (it records it in the cluster's status).
report_divergence() {
  local local_tli switch dump last commits first_commit last_commit seg_size keep bytes epoch
  local_tli="$(pg_controldata "$PGDATA" | sed -n "s/^Latest checkpoint's TimeLineID: *//p")"
  switch="$(fork_point "$local_tli")"
  if [ -z "$switch" ]; then
    log "divergence: no fork point of timeline $local_tli in the primary's history; nothing to report"
    return 0
  fi
  dump="$(pg_waldump -p "$PGDATA/pg_wal" -t "$local_tli" -s "$switch" 2>&1 || true)"
  last="$(printf '%s\n' "$dump" | sed -n 's/.*lsn: \([0-9A-F]*\/[0-9A-F]*\), prev.*/\1/p' | tail -1)"
  commits="$(printf '%s\n' "$dump" | grep -c 'desc: COMMIT' || true)"
  # awk 'NR == 1', not head -1: head exits at once, and sed writing on (thousands of commits in a busy
  # async primary's divergence) dies of SIGPIPE, which pipefail and set -e made this script's exit (141).
  first_commit="$(printf '%s\n' "$dump" | sed -n 's/.*desc: COMMIT \([0-9-]* [0-9:.]* [A-Z]*\).*/\1/p' | awk 'NR == 1')"
  last_commit="$(printf '%s\n' "$dump" | sed -n 's/.*desc: COMMIT \([0-9-]* [0-9:.]* [A-Z]*\).*/\1/p' | tail -1)"
  bytes=0
  if [ -n "$last" ]; then
    bytes=$(( $(lsn_to_int "$last") - $(lsn_to_int "$switch") ))
    [ "$bytes" -ge 0 ] || bytes=0
  fi
  epoch="$(cat "$TOPOLOGY_DIR/epoch" 2>/dev/null || echo 0)"
  keep="$(dirname "$PGDATA")/diverged/epoch-$epoch-$(date -u +%Y%m%dT%H%M%SZ)"
  mkdir -p "$keep"
  seg_size="$(pg_controldata "$PGDATA" | sed -n 's/^Bytes per WAL segment: *//p')"
  local first_segment
  first_segment="$(printf '%08X%08X%08X' "$local_tli" $(( $(lsn_to_int "$switch") / 4294967296 )) \
    $(( ($(lsn_to_int "$switch") % 4294967296) / seg_size )))"
  for f in "$PGDATA"/pg_wal/[0-9A-F]*; do
    name="$(basename "$f")"
    if [ "${#name}" -eq 24 ] && [ "${name:0:8}" = "$(printf '%08X' "$local_tli")" ] && [[ ! "$name" < "$first_segment" ]]; then
      cp "$f" "$keep/"
    fi
  done
  printf '%s\n' "$dump" > "$keep/pg_waldump.txt"
  find "$(dirname "$PGDATA")/diverged" -mindepth 1 -maxdepth 1 -type d -mtime +7 -exec rm -rf {} + 2>/dev/null || true
  log "divergence: timeline $local_tli forked at $switch; this instance holds $bytes bytes of WAL past it" \
    "(last record at ${last:-none}) with $commits commits (${first_commit:-none} .. ${last_commit:-none});" \
    "pg_rewind discards them; the WAL is kept in $keep"
  if [ -n "${REJOIN_REPORT:-}" ]; then
    printf '{"epoch":%s,"timeline":%s,"forkPoint":"%s","lastRecord":"%s","bytes":%s,"commits":%s,"firstCommit":"%s","lastCommit":"%s","keptIn":"%s"}' \
      "$epoch" "$local_tli" "$switch" "$last" "$bytes" "$commits" "$first_commit" "$last_commit" "$keep" \
      > "$REJOIN_REPORT" || true
  fi
}

rewind_former_primary() {
  wait_for_primary
  wait_until_promoted
  log "this instance was a primary; rewinding it onto the current primary's timeline"
  cp "$CONFIG_DIR/postgresql.conf" "$PGDATA/pgcluster.conf"
  local source="$primary_source"
  # pg_rewind reads the source's timeline from its control file, which a promotion updates only at the
  # next checkpoint; without one, a fresh primary looks like "same timeline, no rewind required".
  PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -X -q -v ON_ERROR_STOP=1 -d "$source" -c CHECKPOINT
  report_divergence
  if PGPASSWORD="$PG_SUPERUSER_PASSWORD" pg_rewind --target-pgdata="$PGDATA" --progress \
      --source-server="$source"; then
    log "pg_rewind succeeded"
    ensure_slot
  else
    local aside="$PGDATA.rewind-failed"
    log "pg_rewind failed; keeping the old data in $aside and cloning afresh"
    rm -rf "$aside"
    if [ -n "${PG_WAL_DIR:-}" ] && [ "$(readlink "$PGDATA/pg_wal")" = "$PG_WAL_DIR" ]; then
      # Its WAL is set aside with it, on the WAL volume, and relinked before the data moves: killed
      # half-way, the next start finds either both in place or both set aside, never data without WAL.
      rm -rf "$PG_WAL_DIR.rewind-failed"
      mv "$PG_WAL_DIR" "$PG_WAL_DIR.rewind-failed"
      ln -sfn "$PG_WAL_DIR.rewind-failed" "$PGDATA/pg_wal"
    fi
    mv "$PGDATA" "$aside"
    clone_standby
  fi
}

# How far this data goes: the later of the minimum recovery end and the latest checkpoint (a standby
# shut down writes a restartpoint that can lie past the minimum recovery end).
local_wal_end() {
  local min_end checkpoint
  min_end="$(pg_controldata "$PGDATA" | sed -n 's/^Minimum recovery ending location: *//p')"
  checkpoint="$(pg_controldata "$PGDATA" | sed -n 's/^Latest checkpoint location: *//p')"
  if [ -n "$min_end" ] && [ -n "$checkpoint" ] && [ "$(lsn_to_int "$min_end")" -gt "$(lsn_to_int "$checkpoint")" ]; then
    echo "$min_end"
  else
    echo "$checkpoint"
  fi
}

# True when the primary is reachable and no longer holds the WAL segment this standby asks for next: the
# one after its newest local segment (recycled while the standby was away, with no slot keeping it: a new
# primary has no slot history); it would ask for it forever ("requested WAL segment ... has already been
# removed"). The newest local file, not the replayed position: a delayed standby holds WAL it has not
# applied yet, and a recycled file with a later name only makes this answer "no" (it then waits, as before).
wal_gone_on_primary() {
  pg_isready -q -h "$PRIMARY_HOST" -p "$PGPORT" -t 2 || return 1
  local source="$primary_source" newest
  # Segment names without their timeline compare as numbers: fixed-width upper-case hex.
  newest="$(ls "$PGDATA/pg_wal/" 2>/dev/null | grep -E '^[0-9A-F]{24}$' | cut -c9- | sort | tail -n 1)"
  [ -n "$newest" ] || return 1
  [ "$(PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -X -Atq -d "$source" -c \
    "SELECT coalesce(min(substr(name, 9)) > '$newest', false)
       FROM pg_ls_waldir() WHERE name ~ '^[0-9A-F]{24}\$'" 2>/dev/null)" = t ]
}

# True when the primary is reachable, runs on a later timeline than this standby's data, and this
# standby's WAL goes past the point where that timeline forked off ours (it cannot follow it). When
# the primary cannot be reached the standby simply starts and waits for it.
diverged_from_primary() {
  pg_isready -q -h "$PRIMARY_HOST" -p "$PGPORT" -t 2 || return 1
  local source="$primary_source"
  local primary_tli local_tli local_end switch
  primary_tli="$(PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -X -Atq -d "$source" -c \
    "SELECT ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int" 2>/dev/null)" || return 1
  local_tli="$(pg_controldata "$PGDATA" | sed -n "s/^Latest checkpoint's TimeLineID: *//p")"
  [ -n "$primary_tli" ] && [ -n "$local_tli" ] && [ "$local_tli" -lt "$primary_tli" ] || return 1
  local_end="$(local_wal_end)"
  # The fork point of our timeline, from the primary's timeline history.
  switch="$(PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -X -Atq -d "$source" -v tli="$primary_tli" \
    -c "SELECT pg_read_file('pg_wal/' || lpad(upper(to_hex($primary_tli)), 8, '0') || '.history')" 2>/dev/null \
    | awk -v t="$local_tli" '$1 == t { print $2 }')" || return 1
  [ -n "$switch" ] || return 1
  [ "$(PGPASSWORD="$PG_SUPERUSER_PASSWORD" psql -X -Atq -d "$source" \
    -c "SELECT '$local_end'::pg_lsn > '$switch'::pg_lsn")" = t ]
}

mkdir -p "$(dirname "$PGDATA")"
if [ -z "$primary" ]; then
  # The primary record (the Lease) is being rebuilt from the instances: start read-only, as a standby
  # replaying its own WAL, so that the operator can read this instance's timeline and position.
  log "the topology names no primary (the primary record is being rebuilt): starting as a standby"
  write_role_conf standby
elif [ -s "$PGDATA/PG_VERSION" ]; then
  if [ "$POD_NAME" = "$primary" ]; then
    log "data present; this pod holds the primary Lease"
    if [ ! -f "$PGDATA/standby.signal" ]; then write_role_conf primary; fi
  elif [ ! -f "$PGDATA/standby.signal" ]; then
    rewind_former_primary
    write_role_conf standby
  elif diverged_from_primary; then
    log "this standby followed a former primary past the point where the current primary's timeline" \
      "forked off; rewinding it"
    rm -f "$PGDATA/standby.signal"
    rewind_former_primary
    write_role_conf standby
  elif wal_gone_on_primary; then
    # A standby's data is a copy of the primary's history (it did not diverge: checked above), so
    # nothing is lost by cloning it again; waiting would never end.
    log "the current primary no longer has the WAL this standby needs next (recycled while it was away);" \
      "its data can never catch up: removing it and cloning afresh"
    rm -rf "$PGDATA"
    clone_standby
    write_postgresql_conf "$PGDATA"
    write_role_conf standby
  else
    log "data present; restarting as a standby of $PRIMARY_HOST"
    write_role_conf standby
  fi
elif [ "$POD_NAME" = "$primary" ]; then
  if [ "$initialized" = true ]; then
    log "REFUSING to initdb: the cluster was initialized before but the primary's data directory is empty" \
      "(lost volume?). A standby must be promoted instead."
    exit 2
  fi
  if [ -n "${RECOVERY_STANZA:-}" ]; then
    restore_primary
  else
    init_primary
  fi
  write_role_conf primary
else
  clone_standby
  write_postgresql_conf "$PGDATA"
  write_role_conf standby
fi
log "ready to start as $( [ -f "$PGDATA/standby.signal" ] && echo standby || echo primary)"
