#!/usr/bin/env bash
# stubllm 0.1.5 (PyPI): a fixture-driven mock; used without fixtures, so every chat reply is
# "No fixture matched ..." and every embedding is zeros. OpenAI routes: GET /v1/models,
# POST /v1/chat/completions, POST /v1/embeddings. No auth, no validation.
#   base http://127.0.0.1:$PORT/v1 · no key · chat gpt-4o · embeddings text-embedding-ada-002
# Usage: stubllm.sh [install|start|stop|status|run|info]   env: PORT (4940), OAI_PEERS_DIR, OAI_CONFORMANCE
source "$(dirname "$0")/_common.sh"
peer_init stubllm 4940
PEER_VERSION="stubllm==0.1.5"
PEER_TITLE="stubllm 0.1.5"
BASE_URL="http://$HOST:$PORT/v1"
VENV="$STATE_DIR/venv"
RUN_ARGS=(--capabilities chat,embeddings --chat-model gpt-4o --embedding-model text-embedding-ada-002)

peer_describe() { echo "mock without fixtures; chat, chat stream, embeddings (zeros); no auth, no /completions"; }
peer_install() { venv_install "$VENV" "stubllm==0.1.5"; }
peer_start() {
  launch "$VENV/bin/stubllm" serve --host "$HOST" --port "$PORT"
  wait_http "http://$HOST:$PORT/health" 200
}
peer_main "$@"
