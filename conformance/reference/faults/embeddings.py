"""Faults of embeddings (EMB-*)."""

from __future__ import annotations

import base64
import struct
from typing import Any

from ..errors import ApiError
from ._asgi import on, without
from ._registry import fault


@fault(
    "embedding-wrong-object",
    site="embedding.response",
    summary='Embedding items lack "object": "embedding".',
    seen_in="compat-bugs C.18",
)
def _embedding_wrong_object(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": [without(item, "object") for item in value.get("data", [])]}


@fault(
    "embedding-single-item",
    site="embedding.response",
    summary="One embedding is returned however many inputs.",
    seen_in="LiteLLM embedding mock (peers.md)",
)
def _embedding_single_item(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "data": value.get("data", [])[:1]}


@fault(
    "embedding-ignores-base64",
    site="request",
    summary="encoding_format base64 is ignored; floats come back.",
    seen_in="runpod-workers/worker-infinity-embedding#30; LiteLLM (peers.md)",
)
def _embedding_ignores_base64(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/embeddings") and isinstance(value, dict):
        return {**value, "encoding_format": "float"}
    return value


@fault(
    "embedding-usage-zero-total",
    site="embedding.response",
    summary="usage.total_tokens is 0.",
    seen_in="LiteLLM (peers.md: total_tokens 0 with prompt_tokens 10)",
)
def _embedding_usage_zero_total(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "usage": {**value.get("usage", {}), "total_tokens": 0}}


@fault(
    "embedding-ragged",
    site="embedding.response",
    summary="The second embedding is one dimension short.",
    seen_in="compat-bugs H (dimension mismatches in batched embeddings)",
)
def _embedding_ragged(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    data = [dict(item) for item in value.get("data", [])]
    if len(data) > 1 and isinstance(data[1].get("embedding"), list):
        data[1]["embedding"] = data[1]["embedding"][:-1]
    return {**value, "data": data}


@fault(
    "embedding-ignores-dimensions",
    site="request",
    summary="dimensions is accepted and ignored: vectors come back at the model's native size.",
    seen_in="ggml-org/llama.cpp#24898 (dimensions previously silently ignored); QwenLM/Qwen3-Embedding#101 (LM Studio)",
)
def _embedding_ignores_dimensions(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/embeddings") and isinstance(value, dict):
        return without(value, "dimensions")
    return value


@fault(
    "embedding-token-arrays-500",
    site="request",
    summary="input given as arrays of token ids (what LangChain sends) is answered 500, neither embedded nor declined.",
    seen_in="microsoft/aoai-api-simulator#87 (LangChain token ids → 500); huggingface/text-embeddings-inference#273",
)
def _embedding_token_arrays_500(value: Any, *, path: str = "", **_: Any) -> Any:
    given = value.get("input") if on(path, "/embeddings") and isinstance(value, dict) else None
    if isinstance(given, list) and given and all(isinstance(item, list) for item in given):
        return ApiError(500, "'list' object has no attribute 'strip'", type="server_error")
    return value


@fault(
    "embedding-base64-float64",
    site="embedding.response",
    summary="base64 embeddings encode float64 values: the SDKs decode twice as many float32 numbers, all wrong.",
    seen_in="vllm-project/vllm#5935 (base64.b64encode(np.array(embedding)) encodes float64); compat-bugs H.39",
)
def _embedding_base64_float64(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    data = []
    for item in value.get("data", []):
        encoded = item.get("embedding") if isinstance(item, dict) else None
        if isinstance(encoded, str):
            raw = base64.b64decode(encoded)
            floats = struct.unpack(f"<{len(raw) // 4}f", raw)
            item = {**item, "embedding": base64.b64encode(struct.pack(f"<{len(floats)}d", *floats)).decode()}
        data.append(item)
    return {**value, "data": data}
