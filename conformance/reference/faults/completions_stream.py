"""Faults of streamed legacy completions (CMPL-STREAM-*)."""

from __future__ import annotations

from typing import Any

from ._registry import fault
from ._stream import chunk_after_done, chunks, each_choice, id_changes


@fault(
    "completion-stream-no-done",
    site="completion.chunks",
    summary="The completion stream ends without data: [DONE].",
    seen_in="oobabooga/textgen#4778",
)
def _completion_stream_no_done(value: list[Any], **_: Any) -> list[Any]:
    return [item for item in value if item != "[DONE]"]


@fault(
    "completion-stream-content-type-json",
    site="stream.headers",
    summary="The completion stream is labelled JSON.",
    seen_in="microsoft/foundry-dev-tools#195",
)
def _completion_content_type(value: dict[str, str], *, kind: str = "", **_: Any) -> dict[str, str]:
    return {**value, "content-type": "application/json"} if kind == "completion" else value


def _ping_after_first(value: list[Any], **_: Any) -> list[Any]:
    return [*value[:1], "ping", *value[1:]]


fault(
    "completion-stream-non-json-event",
    site="completion.chunks",
    summary="The completion stream carries data: ping.",
    seen_in="compat-bugs B.8",
)(_ping_after_first)


fault(
    "completion-stream-chunk-after-done",
    site="completion.chunks",
    summary="A chunk follows [DONE].",
    seen_in="agentscope-ai/agentscope-java#2073",
)(chunk_after_done)


@fault(
    "completion-stream-wrong-object",
    site="completion.chunks",
    summary='Completion chunks say "completion.chunk".',
    seen_in="compat-bugs C.21",
)
def _completion_wrong_object(value: list[Any], **_: Any) -> list[Any]:
    return [{**item, "object": "completion.chunk"} if isinstance(item, dict) else item for item in value]


fault(
    "completion-stream-id-changes",
    site="completion.chunks",
    summary="Every completion chunk has a new id.",
    seen_in="ggml-org/llama.cpp#5876",
)(id_changes)


@fault(
    "completion-stream-no-index",
    site="completion.chunks",
    summary="Completion chunk choices carry no index.",
    seen_in="compat-bugs C.18",
)
def _completion_no_index(value: list[Any], **_: Any) -> list[Any]:
    return each_choice(value, lambda c: c.pop("index", None))


@fault(
    "completion-stream-no-finish-reason",
    site="completion.chunks",
    summary="No completion chunk carries a finish_reason.",
    seen_in="qualcomm/GenieX#1246",
)
def _completion_no_finish(value: list[Any], **_: Any) -> list[Any]:
    return each_choice(value, lambda c: c.update(finish_reason=None))


@fault(
    "completion-stream-usage-unrequested",
    site="completion.chunks",
    summary="The final completion chunk carries usage although none was requested.",
    seen_in="llama.cpp llama-server (research llama-peer.md)",
)
def _completion_usage_unrequested(value: list[Any], **_: Any) -> list[Any]:
    found = chunks(value)
    if not found:
        return value
    items = list(value)
    last = items.index(found[-1])
    items[last] = {**found[-1], "usage": {"prompt_tokens": 5, "completion_tokens": 8, "total_tokens": 13}}
    return items
