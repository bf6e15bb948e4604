#!/usr/bin/env bash
# The README's demo: every sample file synced into the embedded emulator, then snapshots, a diff and
# the group list. Runs against $SINCH_GROUPS_HOME (the Makefile sets .sinch-groups-demo/), never Sinch.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
S=data/samples
OUT="${SINCH_GROUPS_HOME:-.sinch-groups-demo}/out"
for var in SINCH_SERVICE_PLAN_ID SINCH_API_TOKEN SINCH_PROJECT_ID SINCH_KEY_ID SINCH_KEY_SECRET SINCH_BASE_URL; do
  unset "$var"
done
export PREFECT_SERVER_ANALYTICS_ENABLED=false COLUMNS="${COLUMNS:-100}"

# No Prefect server to configure: unless PREFECT_API_URL names one, the demo starts a temporary
# API for the whole run (instead of Prefect's temporary one per command) and stops it at the end.
# Without a Prefect profile or PREFECT_HOME of the user's, Prefect's state stays in the project
# folder, not in ~/.prefect.
if [ -z "${PREFECT_API_URL:-}" ]; then
  if [ -z "${PREFECT_HOME:-}${PREFECT_PROFILE:-}" ]; then
    export PREFECT_HOME="${SINCH_GROUPS_HOME:-.sinch-groups-demo}/prefect"
  fi
  port=$($BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  log="${SINCH_GROUPS_HOME:-.sinch-groups-demo}/prefect-server.log"
  mkdir -p "$(dirname "$log")"
  $BIN/prefect server start --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  export PREFECT_API_URL="http://127.0.0.1:$port/api"
  for _ in $(seq 1 120); do
    $BIN/python -c "import httpx,sys; httpx.get('$PREFECT_API_URL/health').raise_for_status()" 2>/dev/null && break
    sleep 0.5
  done
fi

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; "$@"; }

step $BIN/sinch-groups groups
step $BIN/sinch-groups export --out "$OUT/snapshots"
step $BIN/sinch-groups sync $S/contacts_clean.csv --group Newsletter --no-progress
step $BIN/sinch-groups sync $S/crm_export_messy.csv --group CRM --country-column Country \
  --default-region GB --suppress $S/optout.csv --rejects "$OUT/crm_rejects.csv" --no-progress
step $BIN/sinch-groups sync $S/crm_export_latin1.csv --group CRM --country-column Country --no-progress
step $BIN/sinch-groups sync $S/multi_group.csv --group-column segment --default-region GB --no-progress
step $BIN/sinch-groups sync $S/contacts.parquet --group Warehouse --country-column country --no-progress
step $BIN/sinch-groups sync $S/optout.csv --group Newsletter --mode remove --default-region GB --no-progress
step $BIN/sinch-groups sync $S/contacts_clean.csv --group Warehouse --mode mirror --dry-run --no-progress
step $BIN/sinch-groups export --out "$OUT/snapshots"
step $BIN/sinch-groups groups
step $BIN/sinch-groups snapshots list "$OUT/snapshots"
first=$(ls -d "$OUT"/snapshots/members/snapshot_at=* | sort | head -n 1)
last=$(ls -d "$OUT"/snapshots/members/snapshot_at=* | sort | tail -n 1)
step $BIN/sinch-groups diff "$first" "$last"
# A snapshot is a sync input: this is how a backup is restored (a dry run here: nothing changed).
step $BIN/sinch-groups sync "$last/members.parquet" --group-column group_name --mode mirror --dry-run --no-progress

latest_run=$(ls -d sinch-groups-runs/*/ | sort | tail -n 1)
echo
echo "Done. What the runs left:"
echo "  reports:  sinch-groups-runs/<UTC time>/report.json ($(ls sinch-groups-runs/*/report.json | wc -l) runs; latest ${latest_run}report.json)"
echo "  rejects:  sinch-groups-runs/<UTC time>/rejects.parquet, and $OUT/crm_rejects.csv for the CRM file"
echo "  snapshots: $OUT/snapshots/members/ and $OUT/snapshots/groups/ (read each with pl.scan_parquet)"
echo "  Prefect:  flow runs, task runs and artifacts: PREFECT_HOME=${PREFECT_HOME:-~/.prefect} .venv/bin/prefect server start"
