#!/usr/bin/env bash
# Score every real server, one at a time, then regenerate reports/index.md (and index.html).
#
#   reports/peers/run-all.sh                  install + run every server below, then the index
#   reports/peers/run-all.sh litellm prism    only these servers, then the index
#   reports/peers/run-all.sh --index-only     only regenerate reports/index.md and index.html
#
# Each server runs through its own script (<server>.sh run): install its pinned version under
# ${OAI_PEERS_DIR:-~/.cache/oai-conformance/peers}, start it on 127.0.0.1, oai-conformance run into
# reports/<server>/, replay every failure with curl into evidence.txt, stop it. A server whose run
# does not match its baseline is reported at the end (exit 1); the others still run.
# Idempotent: a server left running by an interrupted run is stopped first (by its recorded PID
# only), each server waits for its own readiness URL, and each whole run is bounded by SERVER_LIMIT
# seconds (default 5400, the first llama-server build included), after which it is stopped.
# First full run: about 3 GB of downloads, plus compiling llama-server (10-40 minutes on 2 cores);
# later runs about 15 minutes, most of it the real models.
set -euo pipefail
PEERS_SRC=$(cd "$(dirname "$0")" && pwd)
REPORTS=$(cd "$PEERS_SRC/.." && pwd)
# Column order of the matrix: real models first, then the gateway, then the mocks.
ALL=(llama-server xllamacpp infinity litellm llmock prism stubllm llm-mock-api)

index_only=0
servers=()
for arg in "$@"; do
  case "$arg" in
    --index-only) index_only=1 ;;
    -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
    -*) echo "unknown option $arg" >&2; exit 2 ;;
    *) [ -x "$PEERS_SRC/$arg.sh" ] || { echo "no script reports/peers/$arg.sh" >&2; exit 2; }; servers+=("$arg") ;;
  esac
done
[ ${#servers[@]} -gt 0 ] || servers=("${ALL[@]}")

source "$PEERS_SRC/_common.sh"
PEER=run-all

failed=()
if [ "$index_only" = 0 ]; then
  for server in "${servers[@]}"; do
    echo "=== $server" >&2
    t0=$SECONDS
    "$PEERS_SRC/$server.sh" stop >/dev/null 2>&1 || true   # a leftover of an interrupted run, if any
    # TERM at the limit: the script's trap stops its server (and helpers); KILL a minute later
    timeout --kill-after=60 "${SERVER_LIMIT:-5400}" "$PEERS_SRC/$server.sh" run || failed+=("$server")
    "$PEERS_SRC/$server.sh" stop >/dev/null 2>&1 || true
    echo "=== $server: $((SECONDS - t0)) s" >&2
  done
fi

# --- the index: a header of servers, then the suite's own compatibility matrix ---------------------
present=()
infos=$(mktemp)
trap 'rm -f "$infos"' EXIT
for server in "${ALL[@]}"; do
  [ -s "$REPORTS/$server/report.json" ] || continue
  present+=("$server")
  "$PEERS_SRC/$server.sh" info >>"$infos"
done
[ ${#present[@]} -gt 0 ] || die "no reports/<server>/report.json yet: run a server first"
reports=()
for server in "${present[@]}"; do reports+=("$REPORTS/$server/report.json"); done
{
  "$(helper_python)" "$PEERS_SRC/index_header.py" "$REPORTS" <"$infos"
  oai_conformance merge "${reports[@]}" --format md
} >"$REPORTS/index.md"
oai_conformance merge "${reports[@]}" --format html --out "$REPORTS/index.html"
log "wrote reports/index.md and reports/index.html (${#present[@]} servers)"

if [ ${#failed[@]} -gt 0 ]; then
  log "runs that did not match their baseline (see above): ${failed[*]}"
  exit 1
fi
