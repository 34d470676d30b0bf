#!/usr/bin/env bash
# Score one server several times in a row and compare the per-requirement outcomes.
#
#   reports/peers/determinism.sh SERVER [RUNS]      e.g. determinism.sh llmock      (RUNS: default 3)
#
# Starts SERVER with reports/peers/SERVER.sh (installing it if needed), runs `oai-conformance run`
# against that one running instance RUNS times back to back with the flags of SERVER.sh (no baseline
# gate), stops it (always), then prints each run's wall time and every requirement whose outcome
# differs between the runs (determinism.py). The report.json files are kept in
#   ${DETERMINISM_DIR:-$OAI_PEERS_DIR/determinism}/SERVER/run-N/    (outside the repository)
# with comparison.json beside them. Exit 0: the runs agree; 1: some requirement flipped; 2: usage;
# other: the server or a run could not be started.
set -euo pipefail
PEERS_SRC=$(cd "$(dirname "$0")" && pwd)
server=${1:-}
runs=${2:-3}
[ -n "$server" ] && [ -x "$PEERS_SRC/$server.sh" ] || { sed -n '2,12p' "$0" >&2; exit 2; }
case "$runs" in ''|*[!0-9]*) echo "RUNS must be a number" >&2; exit 2 ;; esac
[ "$runs" -ge 2 ] || { echo "RUNS must be at least 2" >&2; exit 2; }

source "$PEERS_SRC/_common.sh"
PEER=determinism
out=${DETERMINISM_DIR:-$PEERS_HOME/determinism}/$server
rm -rf "$out"; mkdir -p "$out"

script="$PEERS_SRC/$server.sh"
if "$script" status >/dev/null 2>&1; then die "$server is already running: stop it first (\"$script stop\") so that the runs start clean"; fi
trap '"$script" stop >/dev/null 2>&1 || true' EXIT
trap 'exit 130' INT TERM
"$script" start >&2

reports=()
for i in $(seq 1 "$runs"); do
  t0=$(date +%s%N)
  status=0
  "$script" score "$out/run-$i" >&2 || status=$?
  t1=$(date +%s%N)
  ds=$(( (t1 - t0) / 100000000 ))   # tenths of a second
  printf 'run %d: suite exit %d, wall %d.%d s\n' "$i" "$status" $((ds / 10)) $((ds % 10)) | tee -a "$out/wall.txt" >&2
  [ -s "$out/run-$i/report.json" ] || die "run $i wrote no report.json (exit $status)"
  reports+=("$out/run-$i/report.json")
done
"$script" stop >&2
trap - EXIT

status=0
"$(helper_python)" "$PEERS_SRC/determinism.py" "${reports[@]}" --json "$out/comparison.json" || status=$?
cat "$out/wall.txt"
exit "$status"
