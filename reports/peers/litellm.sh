#!/usr/bin/env bash
# LiteLLM proxy 1.108.7 (PyPI litellm[proxy]): the most widely deployed OpenAI-compatible gateway,
# serving the mock models of config/litellm.yaml (mock_response: no upstream is ever called).
# The prisma module is installed too: without it a request with no key crashes LiteLLM's auth error
# handler (500 text/plain) instead of getting 401; no database or prisma engine is used.
#   base http://127.0.0.1:$PORT/v1 · key sk-peer-litellm-master · chat+completions mock-gpt · embeddings mock-embed
# Usage: litellm.sh [install|start|stop|status|run|info]   env: PORT (4900), OAI_PEERS_DIR, OAI_CONFORMANCE
source "$(dirname "$0")/_common.sh"
peer_init litellm 4900
PEER_VERSION="litellm[proxy]==1.108.7 prisma==0.15.0"
PEER_TITLE="LiteLLM proxy 1.108.7"
BASE_URL="http://$HOST:$PORT/v1"
VENV="$STATE_DIR/venv"
KEY=sk-peer-litellm-master   # the master_key of config/litellm.yaml
REPLAY_KEY=$KEY
RUN_ARGS=(--capabilities chat,completions,embeddings --api-key "$KEY" --chat-model mock-gpt --completion-model mock-gpt --embedding-model mock-embed)

peer_describe() { echo "gateway with mock_response models; chat, completions, embeddings (fixed 4-dim vector); master key"; }
peer_install() { venv_install "$VENV" "litellm[proxy]==1.108.7" "prisma==0.15.0"; }
peer_start() {
  export LITELLM_LOCAL_MODEL_COST_MAP=True   # use the bundled cost map; never fetch it
  export LITELLM_TELEMETRY=False
  launch "$VENV/bin/litellm" --config "$CONFIG_DIR/litellm.yaml" --host "$HOST" --port "$PORT"
  wait_http "http://$HOST:$PORT/health/liveliness" 200
}
peer_main "$@"
