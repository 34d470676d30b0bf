"""Embeddings: render a validated request as the ``list`` of ``embedding`` objects."""

from __future__ import annotations

from typing import Any

from .model import EMBEDDING_DIMENSIONS, embed, embedding_to_base64
from .request_types import EmbeddingRequest

__all__ = ["embedding_response"]


def embedding_response(request: EmbeddingRequest) -> dict[str, Any]:
    dimensions = request.dimensions or EMBEDDING_DIMENSIONS
    data = []
    for index, item in enumerate(request.inputs):
        vector = embed(item.text, dimensions)
        encoded: list[float] | str = embedding_to_base64(vector) if request.encoding_format == "base64" else vector
        data.append({"object": "embedding", "index": index, "embedding": encoded})
    tokens = sum(item.tokens for item in request.inputs)
    return {
        "object": "list",
        "data": data,
        "model": request.model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }
