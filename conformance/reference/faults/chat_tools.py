"""Faults of tool calling, non-streamed and multi-turn (CHAT-TOOL-*), and the streamed call that assembles
to another call than the non-streamed one.

The faults that drop ``tools`` altogether (``tools-ignored``) and decline them (``chat-features-declined``)
sit with the streamed tool checks, in :mod:`.chat_stream_options`.
"""

from __future__ import annotations

import copy
import json
from typing import Any

from ..errors import invalid_request
from ._asgi import on
from ._registry import fault, variation
from ._stream import choices, chunks


def _messages(value: dict[str, Any]) -> list[dict[str, Any]]:
    """The assistant messages of a chat response (a deep copy is edited in place)."""
    found = [choice.get("message") for choice in value.get("choices", []) if isinstance(choice, dict)]
    return [message for message in found if isinstance(message, dict)]


def _edit_calls(value: dict[str, Any], change: Any) -> dict[str, Any]:
    edited = copy.deepcopy(value)
    for message in _messages(edited):
        for call in message.get("tool_calls") or []:
            change(call["function"])
    return edited


@fault(
    "tool-args-object",
    site="chat.response",
    summary="Tool call arguments are a JSON object instead of a JSON string.",
    seen_in="huggingface/text-generation-inference#2136 (non-streamed arguments as an object)",
)
def _args_object(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return _edit_calls(value, lambda function: function.update(arguments=json.loads(function["arguments"])))


@fault(
    "tool-args-double-encoded",
    site="chat.response",
    summary="Tool call arguments are JSON-encoded twice: they parse to a string, not to the arguments object.",
    seen_in="quarkiverse/quarkus-langchain4j#2569 (a model served with double-encoded arguments)",
)
def _args_double_encoded(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return _edit_calls(value, lambda function: function.update(arguments=json.dumps(function["arguments"])))


@fault(
    "tool-finish-without-call",
    site="chat.response",
    summary='Every answer to a request with tools finishes with "tool_calls", with or without a call.',
    seen_in="mudler/LocalAI#6218 (fixed in #6243), vllm-project/vllm#53255",
)
def _finish_without_call(value: dict[str, Any], *, request: Any = None, **_: Any) -> dict[str, Any]:
    if not (isinstance(request, dict) and request.get("tools")):
        return value
    edited = copy.deepcopy(value)
    for choice in edited.get("choices", []):
        if choice.get("finish_reason") == "stop":
            choice["finish_reason"] = "tool_calls"
    return edited


@fault(
    "tool-result-turn-rejected",
    site="request",
    summary="An assistant message with tool_calls and content null is refused with a 400: the loop's second "
    "turn never gets an answer.",
    seen_in="coverage-gap.md (lmstudio-bug-tracker#261, litellm#39268, mistral-common#324: content null refused)",
)
def _result_turn_rejected(value: Any, *, path: str = "", **_: Any) -> Any:
    if not (on(path, "/chat/completions") and isinstance(value, dict) and isinstance(value.get("messages"), list)):
        return value
    for i, message in enumerate(value["messages"]):
        if isinstance(message, dict) and message.get("role") == "assistant" and message.get("content") is None:
            return invalid_request(
                f"messages.{i}.content: Input should be a valid string", f"messages.{i}.content", "invalid_type"
            )
    return value


def _tool_choice_dropped(value: Any, path: str, choice: str) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict) and value.get("tool_choice") == choice:
        return {key: item for key, item in value.items() if key != "tool_choice"}
    return value


@fault(
    "tool-choice-none-ignored",
    site="request",
    summary='tool_choice "none" is treated as "auto": a prompt that asks for the tool gets a tool call.',
    seen_in='ollama/ollama#17921 ("none" still calls tools), ROCm/FastFlowLM#728',
)
def _none_ignored(value: Any, *, path: str = "", **_: Any) -> Any:
    return _tool_choice_dropped(value, path, "none")


@fault(
    "tool-choice-required-ignored",
    site="request",
    summary='tool_choice "required" is treated as "auto": a prompt that names no tool gets text.',
    seen_in='jundot/omlx#2877 ("required" and named choices silently downgraded to "auto")',
)
def _required_ignored(value: Any, *, path: str = "", **_: Any) -> Any:
    return _tool_choice_dropped(value, path, "required")


@fault(
    "tool-call-as-text",
    site="chat.response",
    summary='With tool_choice "auto" (or none given) the call is written into content as <tool_call> markup, '
    'tool_calls left out and finish_reason "stop".',
    seen_in="ollama/ollama#13519 (tool JSON in content, tool_calls empty); vLLM served without --tool-call-parser",
)
def _call_as_text(value: dict[str, Any], *, request: Any = None, **_: Any) -> dict[str, Any]:
    if not isinstance(request, dict) or request.get("tool_choice", "auto") != "auto":
        return value
    edited = copy.deepcopy(value)
    for choice in edited.get("choices", []):
        message = choice.get("message") or {}
        calls = message.pop("tool_calls", None)
        if calls:
            function = calls[0]["function"]
            call = {"name": function["name"], "arguments": json.loads(function["arguments"])}
            message["content"] = f"<tool_call>\n{json.dumps(call)}\n</tool_call>"
            choice["finish_reason"] = "stop"
    return edited


# What llama.cpp --jinja with gemma-3-270m answered to tool_choice "auto" (reports/llama-server): the start
# of its chat template's tool preamble, cut at the token limit. Markup, but no call.
ECHOED_PREAMBLE = (
    "# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with "
    "function signatures within <tool_call></tool_call> XML tags:\n"
)


@variation(
    "tool-auto-echoes-template",
    site="chat.response",
    summary='To tool_choice "auto" the model answers no call but text that echoes its chat template\'s tool '
    "preamble, <tool_call></tool_call> markup included, cut at the token limit: legal (the model chose to answer "
    "text; no call is in it).",
    seen_in="llama.cpp b11434 --jinja with gemma-3-270m (a small model repeating its prompt)",
)
def _auto_echoes_template(value: dict[str, Any], *, request: Any = None, **_: Any) -> dict[str, Any]:
    if not isinstance(request, dict) or request.get("tool_choice") != "auto":
        return value
    edited = copy.deepcopy(value)
    for choice in edited.get("choices", []):
        message = choice.get("message") or {}
        message.pop("tool_calls", None)
        message["content"] = ECHOED_PREAMBLE
        choice["finish_reason"] = "length"
    return edited


@fault(
    "stream-tool-args-lose-start",
    site="chat.chunks",
    summary="Streamed tool-call arguments lose their beginning: each call assembles to {} while the "
    "non-streamed answer carries the arguments.",
    seen_in="vllm-project/vllm#21046 (streaming arguments miss their start words; non-streaming differ)",
)
def _args_lose_start(value: list[Any], **_: Any) -> list[Any]:
    items = copy.deepcopy(value)
    started: set[Any] = set()  # the calls (by index) whose first arguments fragment was replaced
    for chunk in chunks(items):
        for choice in choices(chunk):
            for call in (choice.get("delta") or {}).get("tool_calls") or []:
                function = call.get("function") or {}
                if function.get("arguments"):
                    function["arguments"] = "" if call.get("index") in started else "{}"
                    started.add(call.get("index"))
    return items
