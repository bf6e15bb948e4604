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

# No Prefect server: with no PREFECT_API_URL every command runs in-process (and says so). Set
# DEMO_PREFECT=1 to finish with one sync recorded as a flow run on a `prefect server start` that
# the demo starts in the project folder and stops at the end.
export PREFECT_API_URL=""  # empty: in-process even when a Prefect profile names an API

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
# A CRM export as it comes, no flags: the mobile and country columns are detected (and printed).
step $BIN/sinch-groups sync $S/hubspot_export.csv --group HubSpot --dry-run --no-progress
step $BIN/sinch-groups export --out "$OUT/snapshots"
step $BIN/sinch-groups groups
step $BIN/sinch-groups snapshots list "$OUT/snapshots"
first=$(ls -d "$OUT"/snapshots/members/snapshot_at=* | sort | head -n 1)
last=$(ls -d "$OUT"/snapshots/members/snapshot_at=* | sort | tail -n 1)
step $BIN/sinch-groups diff "$first" "$last"
# A snapshot is a sync input: this is how a backup is restored (a dry run here: nothing changed).
step $BIN/sinch-groups sync "$last/members.parquet" --group-column group_name --mode mirror --dry-run --no-progress

if [ -n "${DEMO_PREFECT:-}" ]; then
  export PREFECT_HOME="${SINCH_GROUPS_HOME:-.sinch-groups-demo}/prefect"
  port=$($BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  log="${SINCH_GROUPS_HOME:-.sinch-groups-demo}/prefect-server.log"
  $BIN/prefect server start --host 127.0.0.1 --port "$port" >"$log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true' EXIT
  export PREFECT_API_URL="http://127.0.0.1:$port/api"
  for _ in $(seq 1 120); do
    $BIN/python -c "import httpx; httpx.get('$PREFECT_API_URL/health').raise_for_status()" 2>/dev/null && break
    sleep 0.5
  done
  # The same command, now a flow run with its tasks and artifacts in Prefect.
  step $BIN/sinch-groups sync $S/contacts_clean.csv --group Newsletter --no-progress
fi

latest_run=$(ls -d sinch-groups-runs/*/ | sort | tail -n 1)
echo
echo "Done. What the runs left:"
echo "  reports:  sinch-groups-runs/<UTC time>/report.json ($(ls sinch-groups-runs/*/report.json | wc -l) runs; latest ${latest_run}report.json)"
echo "  rejects:  sinch-groups-runs/<UTC time>/rejects.parquet, and $OUT/crm_rejects.csv for the CRM file"
echo "  snapshots: $OUT/snapshots/members/ and $OUT/snapshots/groups/ (read each with pl.scan_parquet)"
echo "  Prefect:  every command above ran in-process; to record runs, set PREFECT_API_URL to a"
echo "            'prefect server start' (or run DEMO_PREFECT=1 make demo), and see 'Scheduled operation' in the README"
