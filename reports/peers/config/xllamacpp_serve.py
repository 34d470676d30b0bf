"""Start xllamacpp's llama.cpp server as a user would; stop on SIGTERM.

Environment: X_MODEL (GGUF path), X_TEMPLATE (Jinja chat template file), X_HOST, X_PORT, X_API_KEY,
X_THREADS. Run by reports/peers/xllamacpp.sh. The settings mirror config/llama-server.args: Jinja on
(xllamacpp's default) with a tools-capable template, a context size and a default for requests that
set no max_tokens; everything else, the number of slots included, is xllamacpp's default.
"""

import os
import signal
import threading
from pathlib import Path

import xllamacpp as xlc

env = os.environ
params = xlc.CommonParams()
params.model.path = env["X_MODEL"]
params.hostnames = [env["X_HOST"]]  # loopback only
params.port = int(env["X_PORT"])
params.api_keys = [env["X_API_KEY"]]
params.n_ctx = 8192  # llama-server's -c 8192 (the default, 0, takes the model's 32k training context)
params.n_predict = 256  # -n 256: the base model seldom stops by itself; a request's own max_tokens wins
params.cpuparams.n_threads = params.cpuparams_batch.n_threads = int(env["X_THREADS"])
params.ui = False
params.model_alias = {"gemma-3-270m"}
# The GGUF embeds no chat template: give one that handles tools (config/gemma3-tools.jinja), as
# llama-server's --jinja --chat-template-file does. use_jinja is xllamacpp's default; set for clarity.
params.use_jinja = True
params.chat_template = Path(env["X_TEMPLATE"]).read_text(encoding="utf-8")
# n_parallel is left at xllamacpp's default (1 slot: one request is generated at a time).

server = xlc.Server(params)  # serves HTTP from background threads
print("listening", server.listening_address, "slots", params.n_parallel, flush=True)
stop = threading.Event()
for sig in (signal.SIGTERM, signal.SIGINT):
    signal.signal(sig, lambda *_: stop.set())
while not stop.wait(1.0):
    pass
del server
