"""Faults of request parameters (CHAT-013..015): a parameter accepted and silently ignored, or refused
without the error envelope.

The faults that ignore ``max_tokens`` and ``n`` altogether, and refuse ``max_completion_tokens``, sit with
the older chat requirements in :mod:`.chat`.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Scope

from ..params import MAX_STOP_SEQUENCES
from ._asgi import on, rewriting, without
from ._registry import fault


@fault(
    "chat-ignores-max-completion-tokens",
    site="request",
    summary="max_completion_tokens is accepted and ignored (max_tokens is honoured): the answer runs to its "
    "natural end.",
    seen_in="vllm-project/vllm#19861 (max_completion_tokens doesn't work as max); llama-cpp-python#1907",
)
def _ignores_max_completion_tokens(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict):
        return without(value, "max_completion_tokens")
    return value


@fault(
    "chat-ignores-stop",
    site="request",
    summary="stop is validated, then never reaches generation: the answer runs past the stop sequence.",
    seen_in="Blaizzy/mlx-vlm#1044 (stop accepted and silently ignored), NVIDIA-NeMo/Megatron-Bridge#5815",
)
def _ignores_stop(value: Any, *, path: str = "", **_: Any) -> Any:
    stop = value.get("stop") if on(path, "/chat/completions") and isinstance(value, dict) else None
    if isinstance(stop, str) or (isinstance(stop, list) and len(stop) <= MAX_STOP_SEQUENCES):
        return without(value, "stop")  # a valid value: dropped after validation; an invalid one is refused
    return value


@fault(
    "stream-ignores-stop",
    site="request",
    summary="stop is honoured without stream and never seen in a stream: the streamed answer runs past it.",
    seen_in="mzau/mlx-knife#68 (a stop sequence is never seen in a stream unless it falls in one token), "
    "sgl-project/sglang#11446",
)
def _stream_ignores_stop(value: Any, *, path: str = "", **_: Any) -> Any:
    if isinstance(value, dict) and value.get("stream") is True:
        return _ignores_stop(value, path=path)
    return value


# TGI 2.2's answer to a logit_bias map (it wanted a sequence): a 422 whose body is no error envelope.
_TGI_BODY = {
    "error": "Failed to deserialize the JSON body into the target type: logit_bias: invalid type: map, "
    "expected a sequence at line 1 column 137",
    "error_type": "validation",
}


@fault(
    "chat-logit-bias-refused-bare",
    site="asgi",
    summary="A chat completion carrying logit_bias (even the empty map LangChain sent) is refused with a 422 "
    "whose body is not the error envelope.",
    seen_in="dstackai/dstack#1549 (TGI: logit_bias invalid type: map, expected a sequence); vllm-project/vllm#1045",
)
def _logit_bias_refused_bare(value: ASGIApp, **_: Any) -> ASGIApp:
    def rewrite(scope: Scope, status: int, headers: dict[str, str], body: bytes) -> Any:
        if not on(scope["path"], "/chat/completions"):
            return None
        try:
            request = json.loads(b"".join(scope["oai.request_body"]) or b"{}")
        except ValueError:
            return None
        if isinstance(request, dict) and "logit_bias" in request:
            return 422, {"content-type": "application/json"}, json.dumps(_TGI_BODY).encode()
        return None

    return rewriting(value, rewrite)
