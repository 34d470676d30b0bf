"""Faults of legacy completions, not streamed (CMPL-*)."""

from __future__ import annotations

from typing import Any

from ._asgi import map_choices, on, without
from ._registry import fault


@fault(
    "completion-wrong-object",
    site="completion.response",
    summary='object is "completion", not "text_completion".',
    seen_in="compat-bugs C.21",
)
def _completion_wrong_object(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "object": "completion"}


@fault(
    "completion-usage-wrong-total",
    site="completion.response",
    summary="usage.total_tokens is 0.",
    seen_in="LiteLLM mock usage (peers.md)",
)
def _completion_usage_wrong_total(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "usage": {**value.get("usage", {}), "total_tokens": 0}}


@fault(
    "completion-no-logprobs-key",
    site="completion.response",
    summary="Completion choices omit `logprobs`.",
    seen_in="compat-bugs J.41",
)
def _completion_no_logprobs_key(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return map_choices(value, lambda c: without(c, "logprobs"))


@fault(
    "completion-ignores-prompt-array",
    site="request",
    summary="Only the first prompt of a prompt array is completed.",
    seen_in="Ollama docs (prompt must be a string)",
)
def _completion_ignores_prompt_array(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/v1/completions") and not on(path, "/chat/completions") and isinstance(value, dict):
        prompt = value.get("prompt")
        if isinstance(prompt, list) and prompt and all(isinstance(p, str) for p in prompt):
            return {**value, "prompt": prompt[0]}
    return value


@fault("completion-ignores-echo", site="request", summary="echo is ignored.", seen_in="Ollama docs (no echo)")
def _completion_ignores_echo(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/v1/completions") and not on(path, "/chat/completions") and isinstance(value, dict):
        return without(value, "echo")
    return value


@fault(
    "completion-ignores-max-tokens",
    site="request",
    summary="Completions ignore max_tokens.",
    seen_in="research llama-peer.md",
)
def _completion_ignores_max_tokens(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/v1/completions") and not on(path, "/chat/completions") and isinstance(value, dict):
        return without(value, "max_tokens")
    return value
