"""Start xllamacpp's llama.cpp server with the settings llama-server.sh uses; stop on SIGTERM.

Environment: X_MODEL (GGUF path), X_HOST, X_PORT, X_API_KEY, X_THREADS. Run by reports/peers/xllamacpp.sh.
"""

import os
import signal
import threading

import xllamacpp as xlc

env = os.environ
params = xlc.CommonParams()
params.model.path = env["X_MODEL"]
params.hostnames = [env["X_HOST"]]  # loopback only
params.port = int(env["X_PORT"])
params.api_keys = [env["X_API_KEY"]]
params.n_ctx = 2048
params.n_predict = 64  # requests without max_tokens (or with -1) stop after 64 tokens
params.n_parallel = 2  # two slots: one long generation does not hold up every other request
params.cpuparams.n_threads = params.cpuparams_batch.n_threads = int(env["X_THREADS"])
params.ui = False
params.model_alias = {"gemma-3-270m"}
# The GGUF has no chat template: llama.cpp's built-in "gemma" template, by name (Jinja off; with Jinja
# on, the string would be taken as template source and every prompt would be the word "gemma").
params.chat_template = "gemma"
params.use_jinja = False

server = xlc.Server(params)  # serves HTTP from background threads
print("listening", server.listening_address, flush=True)
stop = threading.Event()
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: stop.set())
while not stop.wait(1.0):
    pass
del server
