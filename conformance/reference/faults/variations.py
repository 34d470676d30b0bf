"""Legal variations of streams: behaviour the contract allows and real servers show, which must not
make any check fail (the meta-tests run the whole suite against each one). They guard against false
alarms. The variations of one area (an endpoint a provider does not offer, polite rate limits) live
with that area's faults.
"""

from __future__ import annotations

import copy
from typing import Any

from ._registry import variation
from ._stream import break_midway, choices, chunks, content_positions, plain


def _frames(value: list[Any], change: Any) -> list[Any]:
    return [change(frame) if isinstance(frame, bytes) else frame for frame in value]


@variation(
    "sse-comments",
    site="stream.frames",
    summary="Comment lines (: keep-alive) before and between events.",
    seen_in="SSE keep-alives (WHATWG; many proxies and servers)",
)
def _comments(value: list[Any], **_: Any) -> list[Any]:
    out: list[Any] = [b": keep-alive\n\n"]
    for frame in value:
        out.extend([frame, b": keep-alive\n\n"] if isinstance(frame, bytes) else [frame])
    return out[:-1] if out and out[-1] == b": keep-alive\n\n" else out


@variation(
    "sse-crlf",
    site="stream.frames",
    summary="CRLF line ends.",
    seen_in="servers on Windows stacks; WHATWG allows CR, LF, CRLF",
)
def _crlf(value: list[Any], **_: Any) -> list[Any]:
    return _frames(value, lambda frame: frame.replace(b"\n", b"\r\n"))


@variation(
    "sse-no-space",
    site="stream.frames",
    summary="data: without a space after the colon.",
    seen_in="openai/openai-python#498 (legal; the SDK accepts it since #559)",
)
def _no_space(value: list[Any], **_: Any) -> list[Any]:
    return _frames(value, lambda frame: frame.replace(b"data: ", b"data:"))


@variation(
    "sse-event-id-fields",
    site="stream.frames",
    summary="Every event also carries event: message and an id: line.",
    seen_in="servers built on generic SSE libraries",
)
def _event_id_fields(value: list[Any], **_: Any) -> list[Any]:
    out: list[Any] = []
    for number, frame in enumerate(value):
        out.append(b"event: message\nid: %d\n" % number + frame if isinstance(frame, bytes) else frame)
    return out


@variation(
    "sse-byte-dribble",
    site="stream.frames",
    summary="Bytes arrive a few at a time (7-byte writes).",
    seen_in="slow links and token-by-token proxies",
)
def _byte_dribble(value: list[Any], **_: Any) -> list[Any]:
    out: list[Any] = []
    for frame in value:
        if isinstance(frame, bytes):
            out.extend(frame[i : i + 7] for i in range(0, len(frame), 7))
        else:
            out.append(frame)
    return out


def _vendor(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    item = copy.deepcopy(item)
    item["x_vendor"] = {"queue_ms": 3, "region": "local"}
    item["timings"] = {"predicted_ms": 1.5}
    for choice in choices(item):
        choice["x_vendor_choice"] = {"tokens": 1}
    return item


@variation(
    "chunk-vendor-fields",
    site="chat.chunks",
    summary="Extra vendor fields in every chunk and choice.",
    seen_in="llama.cpp (timings), LiteLLM (provider fields)",
)
def _vendor_fields(value: list[Any], **_: Any) -> list[Any]:
    return [_vendor(item) for item in value]


@variation(
    "chunk-null-optionals",
    site="chat.chunks",
    summary="Optional fields as null (system_fingerprint, service_tier, usage, delta.content in the role chunk).",
    seen_in="llama.cpp (role chunk content null), OpenAI (usage: null)",
)
def _null_optionals(value: list[Any], **_: Any) -> list[Any]:
    items = copy.deepcopy(value)
    for chunk in chunks(items):
        chunk["system_fingerprint"] = None
        chunk["service_tier"] = None
        chunk.setdefault("usage", None)
        for choice in choices(chunk):
            delta = choice.get("delta")
            if isinstance(delta, dict) and delta.get("role") and delta.get("content") == "":
                delta["content"] = None
            choice.setdefault("logprobs", None)
    return items


@variation(
    "content-type-variant",
    site="stream.headers",
    summary="Content-Type: Text/Event-Stream;Charset=UTF-8.",
    seen_in="media types are case-insensitive (RFC 9110)",
)
def _content_type_variant(value: dict[str, str], **_: Any) -> dict[str, str]:
    return {**value, "content-type": "Text/Event-Stream;Charset=UTF-8"}


@variation(
    "stream-midway-error",
    site="chat.chunks",
    summary="A well-formed in-band error mid-stream, then data: [DONE].",
    seen_in="vLLM test_chat_error.py; OpenRouter mid-stream errors",
)
def _midway_error(value: list[Any], *, request: Any = None, **_: Any) -> list[Any]:
    if not plain(request):
        return value
    error = {"message": "upstream model overloaded", "type": "server_error", "param": None, "code": None}
    return break_midway(value, error, done=True)


@variation(
    "finish-with-last-content",
    site="chat.chunks",
    summary="The last content delta and finish_reason share a chunk.",
    seen_in="vllm-project/vllm#36944, BerriAI/litellm#2692 (legal per the spec)",
)
def _finish_with_last_content(value: list[Any], *, request: Any = None, **_: Any) -> list[Any]:
    if not plain(request):
        return value
    positions = content_positions(value)
    finish = next(
        (
            i
            for i, item in enumerate(value)
            if isinstance(item, dict) and any(c.get("finish_reason") for c in choices(item))
        ),
        None,
    )
    if not positions or finish is None or finish < positions[-1]:
        return value
    items = copy.deepcopy(value)
    reason = choices(items[finish])[0]["finish_reason"]
    choices(items[positions[-1]])[0]["finish_reason"] = reason
    del items[finish]
    return items


def _created_per_chunk(value: list[Any], **_: Any) -> list[Any]:
    """The second half of the chunks a second later: the stream crossed a second boundary."""
    items = copy.deepcopy(value)
    found = chunks(items)
    for chunk in found[len(found) // 2 :]:
        if isinstance(chunk.get("created"), int):
            chunk["created"] += 1
    return items


variation(
    "stream-created-per-chunk",
    site="chat.chunks",
    summary="Each chunk is stamped with the second it was sent in, and the stream crosses a second boundary.",
    seen_in="llama.cpp server (created = time(nullptr) per chunk); the verdict must not depend on the clock",
)(_created_per_chunk)


variation(
    "completion-stream-created-per-chunk",
    site="completion.chunks",
    summary="Each completion chunk is stamped with the second it was sent in, crossing a second boundary.",
    seen_in="llama.cpp server /v1/completions (created per chunk)",
)(_created_per_chunk)
