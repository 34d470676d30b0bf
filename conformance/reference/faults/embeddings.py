"""Faults of embeddings (EMB-*)."""

from __future__ import annotations

from typing import Any

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
