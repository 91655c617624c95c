#!/bin/bash
# pgcluster-operator archive_command: pgBackRest pushes the WAL file (asynchronously, from its spool).
# A failure's message is also kept in $PGDATA/pgcluster.archive-error (the working directory of the
# archiver), where the operator reads it for the cluster's status; a success removes it.
out="$(pgbackrest archive-push "$1" 2>&1)"
rc=$?
if [ "$rc" -eq 0 ]; then
  rm -f pgcluster.archive-error
else
  { echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $(basename "$1") exit $rc"; printf '%s\n' "$out" | head -c 1500; } \
    > pgcluster.archive-error.tmp && mv pgcluster.archive-error.tmp pgcluster.archive-error
fi
[ -z "$out" ] || printf '%s\n' "$out" >&2
exit "$rc"
