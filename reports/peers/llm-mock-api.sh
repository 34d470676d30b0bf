#!/usr/bin/env bash
# llm-mock-api 0.1.2 (PyPI): a rule-driven mock of POST /v1/chat/completions (and /v1/responses,
# /v1/messages), used with its fallback reply only. No /v1/models, /v1/completions or /v1/embeddings;
# no auth; any model name accepted.
#   base http://127.0.0.1:$PORT/v1 · no key · chat gpt-4o
# Usage: llm-mock-api.sh [install|start|stop|status|run|info]   env: PORT (4920), OAI_PEERS_DIR, OAI_CONFORMANCE
source "$(dirname "$0")/_common.sh"
peer_init llm-mock-api 4920
PEER_VERSION="llm-mock-api==0.1.2"
PEER_TITLE="llm-mock-api 0.1.2"
BASE_URL="http://$HOST:$PORT/v1"
VENV="$STATE_DIR/venv"
RUN_ARGS=(--capabilities chat --chat-model gpt-4o)

peer_describe() { echo "mock with a fixed fallback reply; chat and chat stream only; no auth, no /models"; }
peer_install() { venv_install "$VENV" "llm-mock-api==0.1.2"; }
peer_start() {
  # it reads ./config.json when present; STATE_DIR has none, so only these flags apply
  launch "$VENV/bin/llm-mock-api" start -H "$HOST" -p "$PORT" -l 0 -f "Hello from llm-mock-api."
  wait_http "http://$HOST:$PORT/docs" 200
}
peer_main "$@"
