"""Reasoning: a request with ``reasoning_effort`` is answered with a short deterministic reasoning text in a
field of its own, ``reasoning_content`` (the name DeepSeek's API, llama.cpp and vLLM before its rename
send; ``Policy.reasoning_field``), beside the content -- in ``message`` and in the stream's deltas alike.

The reasoning tokens come first and count against ``max_tokens`` / ``max_completion_tokens``, as they do
for OpenAI's reasoning models: a bound they use up leaves an empty content with finish reason ``length``.
They are counted in ``usage.completion_tokens`` and reported in
``usage.completion_tokens_details.reasoning_tokens``. ``reasoning_effort`` "none" asks for no reasoning.
"""

from __future__ import annotations

from typing import Final

from .model import tokenize
from .request_types import ChatRequest

__all__ = ["EFFORTS", "REASONING_FIELD", "budget", "reasoning_tokens"]

#: The documented values of ``reasoning_effort`` (OpenAPI ReasoningEffort), and the newer "xhigh".
EFFORTS: Final = ("none", "minimal", "low", "medium", "high", "xhigh")
#: The field of ``message`` and ``delta`` that carries the reasoning text, unless a variation names another.
REASONING_FIELD: Final = "reasoning_content"


def reasoning_tokens(request: ChatRequest) -> tuple[str, ...]:
    """The reasoning the answer to ``request`` carries: none without an effort (or with "none")."""
    if request.reasoning_effort in (None, "none"):
        return ()
    return tuple(tokenize(f"The user asks for a short answer ({request.reasoning_effort} effort): one sentence."))


def budget(request: ChatRequest) -> tuple[tuple[str, ...], int | None]:
    """(the reasoning tokens kept, the bound left for the content) under the request's token bound."""
    reasoning = reasoning_tokens(request)
    if request.max_tokens is None or not reasoning:
        return reasoning, request.max_tokens
    kept = reasoning[: request.max_tokens]
    return kept, request.max_tokens - len(kept)
