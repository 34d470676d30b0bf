"""Faults of streamed chat completions that ask for more than the plain stream: usage
(stream_options.include_usage), n > 1, tool calls and logprobs (CHAT-STREAM-03x to -06x).

The faults of the plain stream, and what these share with them, are in :mod:`.chat_stream`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from ..errors import ApiError
from ._asgi import on
from ._registry import fault, variation
from ._stream import choices, chunks, each_choice, plain_only

# usage --------------------------------------------------------------------------------------------


def _usage_index(value: list[Any]) -> int | None:
    return next((i for i, item in enumerate(value) if isinstance(item, dict) and item.get("choices") == []), None)


@variation(
    "stream-usage-in-choice-chunk",
    site="chat.chunks",
    summary='The usage chunk carries choices [{"index": 0, "delta": {}}] instead of []: legal (the chunk schema '
    "allows it, openai-python and openai-node accumulate it).",
    seen_in="LiteLLM proxy 1.108.7",
)
def _usage_in_choice_chunk(value: list[Any], **_: Any) -> list[Any]:
    index = _usage_index(value)
    if index is None:
        return value
    items = list(value)
    items[index] = {**items[index], "choices": [{"index": 0, "delta": {}}]}
    return items


@fault(
    "stream-usage-missing",
    site="chat.chunks",
    summary="stream_options.include_usage is ignored.",
    seen_in="llama-cpp-python (research llama-peer.md)",
)
def _usage_missing(value: list[Any], **_: Any) -> list[Any]:
    index = _usage_index(value)
    return value if index is None else [item for i, item in enumerate(value) if i != index]


@variation(
    "stream-options-rejected",
    site="request",
    summary="stream_options is refused with a 400 and the error envelope: declined honestly (UNSUPPORTED).",
    seen_in="vercel/ai#1578 (Groq: property 'stream_options' is unsupported)",
)
def _options_rejected(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict) and "stream_options" in value:
        return ApiError(400, "property 'stream_options' is unsupported", param="stream_options")
    return value


@fault(
    "stream-usage-wrong-total",
    site="chat.chunks",
    summary="The streamed usage total is prompt tokens only.",
    seen_in="compat-bugs E.29",
)
def _usage_wrong_total(value: list[Any], **_: Any) -> list[Any]:
    index = _usage_index(value)
    if index is None or not isinstance(value[index].get("usage"), dict):
        return value
    items = list(value)
    usage = items[index]["usage"]
    items[index] = {**items[index], "usage": {**usage, "total_tokens": usage.get("prompt_tokens", 0)}}
    return items


@fault(
    "stream-usage-unrequested",
    site="chat.chunks",
    summary="A usage chunk with empty choices is always sent.",
    seen_in="llm-mock-api (peers.md), nguyenphutrong/quotio#460",
)
@plain_only
def _usage_unrequested(value: list[Any], **_: Any) -> list[Any]:
    found = chunks(value)
    if not found:
        return value
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    extra = {**{k: v for k, v in found[-1].items() if k != "choices"}, "choices": [], "usage": usage}
    return [*value[:-1], extra, value[-1]]


# n > 1 --------------------------------------------------------------------------------------------


@fault(
    "stream-ignores-n",
    site="request",
    summary="A streamed request with n > 1 streams one choice.",
    seen_in="abetlen/llama-cpp-python#1906",
)
def _ignores_n(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict) and value.get("stream") is True:
        return {k: v for k, v in value.items() if k != "n"}
    return value


# tool calls ---------------------------------------------------------------------------------------


def _tool_calls(value: list[Any]) -> list[dict[str, Any]]:
    calls = []
    for chunk in chunks(value):
        for choice in choices(chunk):
            calls.extend(c for c in (choice.get("delta") or {}).get("tool_calls") or [] if isinstance(c, dict))
    return calls


@fault(
    "stream-tool-call-no-index",
    site="chat.chunks",
    summary="Tool call deltas carry no index.",
    seen_in="ollama/ollama#7881, openai/openai-python#2806 (Gemini)",
)
def _tool_call_no_index(value: list[Any], **_: Any) -> list[Any]:
    items = copy.deepcopy(value)
    for call in _tool_calls(items):
        call.pop("index", None)
    return items


@fault(
    "stream-tool-call-no-id",
    site="chat.chunks",
    summary="The first tool call fragment has no id.",
    seen_in="compat-bugs D.25 (chenyme/grok2api#239)",
)
def _tool_call_no_id(value: list[Any], **_: Any) -> list[Any]:
    items = copy.deepcopy(value)
    for call in _tool_calls(items):
        call.pop("id", None)
    return items


@fault(
    "stream-tool-args-object",
    site="chat.chunks",
    summary="Tool call arguments are sent as a JSON object.",
    seen_in="ggml-org/llama.cpp#20198, ollama/ollama#6155",
)
def _tool_args_object(value: list[Any], **_: Any) -> list[Any]:
    items = copy.deepcopy(value)
    calls = _tool_calls(items)
    if not calls:
        return value
    text = "".join(c.get("function", {}).get("arguments", "") for c in calls)
    try:
        parsed = json.loads(text)
    except ValueError:
        return value
    for position, call in enumerate(calls):
        function = call.get("function", {})
        if position == 0:
            function["arguments"] = parsed
        else:
            function.pop("arguments", None)
    return items


@variation(
    "stream-tool-finish-stop",
    site="chat.chunks",
    summary='A call forced by a named tool_choice finishes with "stop", as the OpenAI API answers it: legal.',
    seen_in="ENTERPILOT/GoModel#124 (verified against the OpenAI API), vllm-project/vllm#49496",
)
def _tool_finish_stop(value: list[Any], **_: Any) -> list[Any]:
    return each_choice(
        value, lambda c: c.update(finish_reason="stop") if c.get("finish_reason") == "tool_calls" else None
    )


@fault(
    "stream-tool-finish-function-call",
    site="chat.chunks",
    summary='A streamed tool call finishes with the deprecated "function_call": loops that wait for "tool_calls" '
    '(or "stop" after a forced call) never run it.',
    seen_in="MeetKai/functionary#92 (finish_reason function_call for tools, streamed and not)",
)
def _tool_finish_function_call(value: list[Any], **_: Any) -> list[Any]:
    return each_choice(
        value, lambda c: c.update(finish_reason="function_call") if c.get("finish_reason") == "tool_calls" else None
    )


# logprobs -----------------------------------------------------------------------------------------


def _logprob_chunks(value: list[Any], change: Any) -> list[Any]:
    def apply(choice: dict[str, Any]) -> None:
        if isinstance(choice.get("logprobs"), dict):
            choice["logprobs"] = change(choice["logprobs"])

    return each_choice(value, apply)


@fault(
    "stream-logprobs-wrong-shape",
    site="chat.chunks",
    summary="Chat chunks carry completions-style logprobs.",
    seen_in="vllm-project/vllm#3179",
)
def _logprobs_wrong_shape(value: list[Any], **_: Any) -> list[Any]:
    return _logprob_chunks(
        value,
        lambda lp: {
            "tokens": [e.get("token") for e in lp.get("content") or []],
            "token_logprobs": [e.get("logprob") for e in lp.get("content") or []],
        },
    )


@fault(
    "stream-logprobs-dropped",
    site="chat.chunks",
    summary="Requested logprobs are silently dropped.",
    seen_in="ollama/ollama#16117, waybarrios/vllm-mlx#786",
)
def _logprobs_dropped(value: list[Any], **_: Any) -> list[Any]:
    return _logprob_chunks(value, lambda lp: None)


# tools, n > 1, logprobs and structured outputs, declined or ignored -----------------------------------------

_FEATURES = {
    "tools": "tools are not supported",
    "n": "n > 1 is not supported",
    "logprobs": "logprobs are not supported",
    "response_format": "response_format json_object / json_schema is not supported",
    "image_url": "image input is not supported",
    "reasoning_effort": "reasoning_effort is not supported",
}


def _asked_for(request: dict[str, Any]) -> str | None:
    if request.get("tools"):
        return "tools"
    if isinstance(request.get("n"), int) and request["n"] > 1:
        return "n"
    if request.get("logprobs"):
        return "logprobs"
    fmt = request.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in ("json_object", "json_schema"):
        return "response_format"
    messages = request.get("messages") if isinstance(request.get("messages"), list) else []
    parts = [p for m in messages if isinstance(m, dict) and isinstance(m.get("content"), list) for p in m["content"]]
    if any(isinstance(part, dict) and part.get("type") == "image_url" for part in parts):
        return "image_url"
    if request.get("reasoning_effort") is not None:
        return "reasoning_effort"
    return None


@variation(
    "chat-features-declined",
    site="request",
    summary="tools, n > 1, logprobs, structured outputs, image parts and reasoning_effort are each refused with a 400 "
    "and the error envelope: declined honestly (UNSUPPORTED, capabilities tools, n, logprobs, structured_outputs, "
    "vision and reasoning).",
    seen_in="coverage-gap.md (chat: no logprobs, no tool_choice, no n); llama.cpp before --jinja refused tools",
)
def _features_declined(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict) and (feature := _asked_for(value)) is not None:
        return ApiError(400, _FEATURES[feature], param=feature)
    return value


@fault(
    "tools-ignored",
    site="request",
    summary="tools and tool_choice are dropped: a forced tool call is answered with text.",
    seen_in="coverage-gap.md (parameters silently ignored); Ollama before 0.3 ignored tools in OpenAI mode",
)
def _tools_ignored(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict) and value.get("tools"):
        return {key: item for key, item in value.items() if key not in ("tools", "tool_choice")}
    return value
