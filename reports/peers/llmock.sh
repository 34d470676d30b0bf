#!/usr/bin/env bash
# llmock 0.2.2 (PyPI): a "chaos engineering" mock of OpenAI and other providers, used here as it
# starts, with a fixed reply text. OpenAI routes under /v1: models, chat/completions (stream, tools),
# responses, embeddings, images, files, batches. No /completions, no /models/{id}, no auth check (the
# key only feeds its rate limiter), any model name accepted.
#   base http://127.0.0.1:$PORT/v1 · no key · chat gpt-4o · embeddings text-embedding-3-small
# Usage: llmock.sh [install|start|stop|status|run|info]   env: PORT (4930), OAI_PEERS_DIR, OAI_CONFORMANCE
source "$(dirname "$0")/_common.sh"
peer_init llmock 4930
PEER_VERSION="llmock==0.2.2"
PEER_TITLE="llmock 0.2.2"
BASE_URL="http://$HOST:$PORT/v1"
VENV="$STATE_DIR/venv"
# No --api-key: llmock cannot be configured with one, so the auth checks do not apply (SKIP).
# Declared capabilities: what llmock serves; the others (completions, moderations, fine-tunes, …) are
# reported UNSUPPORTED without a request.
RUN_ARGS=(--capabilities chat,embeddings,images,files --chat-model gpt-4o --embedding-model text-embedding-3-small)

peer_describe() { echo "mock (fixed reply text); chat, embeddings, images, files; no auth, no /completions"; }
peer_install() { venv_install "$VENV" "llmock==0.2.2"; }
peer_start() {
  launch "$VENV/bin/llmock" serve -h "$HOST" -p "$PORT" --config "$CONFIG_DIR/llmock.yaml"
  wait_http "http://$HOST:$PORT/health" 200
}
peer_main "$@"
