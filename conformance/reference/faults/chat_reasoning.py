"""Faults of reasoning models (CHAT-REASON-*): ``reasoning_effort`` answered with a 500, the reasoning in the
content as ``<think>`` markup (answered whole, or only when streamed), and the reasoning field renamed in
the stream.

Declining ``reasoning_effort`` honestly (a 400 with the envelope) is the legal variation
``chat-features-declined``, in :mod:`.chat_stream_options` with the other chat features; the reasoning in
a field named ``reasoning`` (streamed and not) is the legal variation ``reasoning-field-named-reasoning``.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..errors import ApiError
from ..policy import Policy
from ..reasoning import REASONING_FIELD
from ._asgi import on
from ._registry import fault, variation


@fault(
    "reasoning-effort-500",
    site="request",
    summary="A chat completion carrying reasoning_effort is answered 500: the chat template raises on the effort "
    "and the server reports its own error instead of a 400.",
    seen_in="vllm-project/vllm#54017 (Qwen chat template rejects the effort: 500, fixed by #54022); "
    "sgl-project/sglang#36741",
)
def _reasoning_effort_500(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict) and value.get("reasoning_effort") is not None:
        effort = value["reasoning_effort"]
        return ApiError(500, f"Unexpected reasoning effort {effort}. Supported types are xhigh (default), medium.")
    return value


@fault(
    "reasoning-think-tags-in-content",
    site="chat.response",
    summary="The reasoning is returned inside the content as <think>...</think> before the answer, with no "
    "reasoning field: the server has no reasoning parser for the model.",
    seen_in="ggml-org/llama.cpp#24671 (--reasoning-format leaves think tags in content), ollama/ollama#8837, "
    "deepseek-ai/DeepSeek-R1#23 (vLLM and Ollama deployments)",
)
def _think_tags_in_content(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    choices = []
    for choice in value.get("choices", []):
        message = dict(choice.get("message") or {})
        reasoning = message.pop(REASONING_FIELD, None)
        if isinstance(reasoning, str):
            message["content"] = f"<think>\n{reasoning}\n</think>\n\n{message.get('content') or ''}"
        choices.append({**choice, "message": message})
    return {**value, "choices": choices}


def _deltas(value: list[Any], rewrite: Any) -> list[Any]:
    """Every chunk with each choice's delta passed through ``rewrite(delta, state)`` (state: one dict per
    choice index, kept across chunks)."""
    states: dict[Any, dict[str, Any]] = {}
    out: list[Any] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("choices"), list):
            out.append(item)
            continue
        choices = []
        for choice in item["choices"]:
            delta = choice.get("delta") if isinstance(choice, dict) else None
            if isinstance(delta, dict):
                choice = {**choice, "delta": rewrite(dict(delta), states.setdefault(choice.get("index"), {}))}
            choices.append(choice)
        out.append({**item, "choices": choices})
    return out


def _streamed_as_content(delta: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    reasoning = delta.pop(REASONING_FIELD, None)
    if isinstance(reasoning, str):
        delta["content"] = ("" if state.get("open") else "<think>") + reasoning
        state["open"] = True
    elif state.get("open") and delta.get("content"):
        delta["content"] = "</think>\n\n" + delta["content"]
        state["open"] = False
    return delta


@fault(
    "reasoning-think-tags-streamed",
    site="chat.chunks",
    summary="Answered whole, the reasoning is in reasoning_content; streamed, it arrives in delta.content as "
    "<think>...</think> before the answer.",
    seen_in="ggml-org/llama.cpp#11325 (reasoning_content only in non-stream mode; streaming sent the think "
    "tags in content until #12379)",
)
def _think_tags_streamed(value: list[Any], **_: Any) -> list[Any]:
    return _deltas(value, _streamed_as_content)


def _renamed(delta: dict[str, Any], state: dict[str, Any]) -> dict[str, Any]:
    if REASONING_FIELD in delta:
        delta["reasoning"] = delta.pop(REASONING_FIELD)
    return delta


@fault(
    "reasoning-field-renamed-in-stream",
    site="chat.chunks",
    summary="Answered whole, the reasoning is in message.reasoning_content; streamed, the deltas carry it as "
    "reasoning.",
    seen_in="vllm-project/vllm#34030 (after the rename of RFC #27755 the streamed DeltaMessage lost "
    "reasoning_content); BerriAI/litellm#20246 (streamed reasoning dropped)",
)
def _field_renamed_in_stream(value: list[Any], **_: Any) -> list[Any]:
    return _deltas(value, _renamed)


@variation(
    "reasoning-field-named-reasoning",
    site="policy",
    summary="The reasoning is carried in a field named reasoning, in the message and in the deltas alike: the "
    "other name in use, legal.",
    seen_in="vLLM since RFC #27755 (reasoning_content renamed reasoning); OpenRouter (message.reasoning)",
)
def _named_reasoning(value: Policy, **_: Any) -> Policy:
    return replace(value, reasoning_field="reasoning")
