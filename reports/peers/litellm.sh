#!/usr/bin/env bash
# LiteLLM proxy 1.108.7 (PyPI litellm[proxy]): the most widely deployed OpenAI-compatible gateway, set
# up as its docs show (config/litellm.yaml): three models routed with the openai/ provider to a real
# OpenAI-compatible upstream, a master key, nothing else (no mock_response, no drop_params).
# The upstream is this project's reference provider, `oai-conformance serve` on 127.0.0.1:$UPSTREAM_PORT
# (ref-chat, ref-instruct, ref-embed): it follows the documented contract and answers deterministically,
# so every failure found here is LiteLLM's own. It is started first and stopped with the proxy.
# The prisma module is installed too: without it a request with no key crashes LiteLLM's auth error
# handler (500 text/plain) instead of getting 401; no database or prisma engine is used.
#   base http://127.0.0.1:$PORT/v1 · key sk-peer-litellm-master · chat ref-chat · completions ref-instruct
#   · embeddings ref-embed
# Usage: litellm.sh [install|start|stop|status|run|info]   env: PORT (4900), OAI_PEERS_DIR, OAI_CONFORMANCE
source "$(dirname "$0")/_common.sh"
peer_init litellm 4900
PEER_VERSION="litellm[proxy]==1.108.7 prisma==0.15.0"
PEER_TITLE="LiteLLM proxy 1.108.7"
BASE_URL="http://$HOST:$PORT/v1"
VENV="$STATE_DIR/venv"
KEY=sk-peer-litellm-master   # the master_key of config/litellm.yaml
REPLAY_KEY=$KEY
UPSTREAM_PORT=4901           # the api_base of config/litellm.yaml
UPSTREAM_KEY=sk-ref-conformance-key   # the reference provider's public key
RUN_ARGS=(--capabilities chat,completions,embeddings --api-key "$KEY" --chat-model ref-chat --completion-model ref-instruct --embedding-model ref-embed)

peer_describe() { echo "gateway in front of a real upstream (the reference provider, openai/ provider); chat, completions, embeddings; master key"; }
peer_install() { venv_install "$VENV" "litellm[proxy]==1.108.7" "prisma==0.15.0"; }
peer_start() {
  stop_pid_file "$STATE_DIR/helper-upstream.pid" 2>/dev/null || true   # a leftover from an interrupted run
  launch_helper upstream "$UPSTREAM_PORT" "$(cli_path)" serve --port "$UPSTREAM_PORT" --api-key "$UPSTREAM_KEY"
  wait_http "http://$HOST:$UPSTREAM_PORT/v1/models" 200 "$START_LIMIT" -H "Authorization: Bearer $UPSTREAM_KEY"
  export REF_UPSTREAM_KEY=$UPSTREAM_KEY      # read by config/litellm.yaml (os.environ/REF_UPSTREAM_KEY)
  export LITELLM_LOCAL_MODEL_COST_MAP=True   # use the bundled cost map; never fetch it
  export LITELLM_TELEMETRY=False
  launch "$VENV/bin/litellm" --config "$CONFIG_DIR/litellm.yaml" --host "$HOST" --port "$PORT"
  wait_http "http://$HOST:$PORT/health/liveliness" 200
}
peer_main "$@"
