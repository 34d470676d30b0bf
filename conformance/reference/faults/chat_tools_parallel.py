"""Faults of parallel tool calls (CHAT-TOOL-010..012): calls that share an id, streamed calls that share an
index, and ``parallel_tool_calls`` false ignored.
"""

from __future__ import annotations

import copy
from typing import Any

from ._asgi import on
from ._registry import fault
from ._stream import choices, chunks
from .chat_tools import _messages


@fault(
    "tool-parallel-same-id",
    site="chat.response",
    summary="Every tool call of a message carries the same id (made from the completion's id): the tool messages "
    "answering two calls cannot be told apart.",
    seen_in="xorbitsai/inference#4237 (every call's id is call_ + the completion id); HKUDS/nanobot#4059",
)
def _parallel_same_id(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    edited = copy.deepcopy(value)
    for message in _messages(edited):
        for call in message.get("tool_calls") or []:
            call["id"] = "call_" + str(edited.get("id", "")).removeprefix("chatcmpl-")
    return edited


@fault(
    "stream-parallel-tools-one-index",
    site="chat.chunks",
    summary="Streamed parallel tool calls are all sent at index 0 (each with its own id): the clients' "
    "accumulators assemble one call with the arguments concatenated.",
    seen_in="ai-dynamo/dynamo#4723, su-kaka/gcli2api#406, mcowger/plexus#691 (every parallel call at index 0)",
)
def _parallel_one_index(value: list[Any], **_: Any) -> list[Any]:
    items = copy.deepcopy(value)
    for chunk in chunks(items):
        for choice in choices(chunk):
            for call in (choice.get("delta") or {}).get("tool_calls") or []:
                if isinstance(call, dict) and "index" in call:
                    call["index"] = 0
    return items


@fault(
    "parallel-tool-calls-ignored",
    site="request",
    summary="parallel_tool_calls false is accepted and ignored: a prompt that asks for two calls gets two.",
    seen_in="sgl-project/sglang#9696 (parallel_tool_calls=False not enforced)",
)
def _parallel_ignored(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, "/chat/completions") and isinstance(value, dict) and value.get("parallel_tool_calls") is False:
        return {key: item for key, item in value.items() if key != "parallel_tool_calls"}
    return value
