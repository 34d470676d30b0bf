"""CHAT-016 and CHAT-STREAM-025: the optional fields of a chat completion and of its chunks have their
documented types (OpenAPI CreateChatCompletionResponse, CreateChatCompletionStreamResponse,
ChatCompletionResponseMessage, CompletionUsage; openai-python types/chat/chat_completion.py,
chat_completion_chunk.py, completion_usage.py).

The required fields are the older checks' (CHAT-002..008, CHAT-STREAM-010..024, -030); these read the
fields a provider may leave out but, when it sends them, must send with the documented type: a strict
client (openai-python with ``_strict_response_validation``, pydantic-ai, async-openai, LlmTornado) rejects
the whole response over one of them -- Groq's ``"service_tier": "on_demand"`` is the known case. An absent
field, or null where the schema allows it, is legal. Field by field (what each check reads):

| field | documented type |
| --- | --- |
| ``system_fingerprint`` | string (or null: openai-python declares it Optional) |
| ``service_tier`` | one of auto, default, flex, scale, priority, fast; or null |
| ``message.refusal`` | string or null (its presence is CHAT-008's) |
| ``message.annotations`` | array of url_citation objects (start_index, end_index, url, title) |
| ``usage.prompt_tokens_details`` / ``completion_tokens_details`` | object of integer (or null) counts, or null |
| chunk ``obfuscation`` | string |
| chunk ``usage`` | null or an object (its place and values are CHAT-STREAM-030..032's) |
| ``delta.refusal`` | string or null |
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from conformance import expect, streams
from conformance.checks._streaming import fail_at
from conformance.checks.chat import completion_object
from conformance.checks.chat_stream import judged
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.transport.exchange import Exchange, StreamExchange

SERVICE_TIERS = ("auto", "default", "flex", "scale", "priority", "fast")
CITATION_FIELDS = {"start_index": int, "end_index": int, "url": str, "title": str}
NULL = type(None)
JSON_NAMES = {str: "a string", dict: "an object", NULL: "null"}


def _optional(obj: dict[str, Any], key: str, types: tuple[type, ...], pointer: str) -> Iterator[tuple[str, str, Any]]:
    if key in obj and not expect.is_type(obj[key], types):
        yield f"{pointer}/{key}", " or ".join(JSON_NAMES[t] for t in types), obj[key]


def envelope_problems(body: dict[str, Any], pointer: str = "") -> Iterator[tuple[str, str, Any]]:
    """(pointer, expected, actual) for each optional top-level field of the wrong type."""
    yield from _optional(body, "system_fingerprint", (str, NULL), pointer)
    tier = body.get("service_tier")
    if tier is not None and tier not in SERVICE_TIERS:
        yield f"{pointer}/service_tier", f"one of {', '.join(SERVICE_TIERS)}, or null", tier


def usage_problems(usage: Any, pointer: str) -> Iterator[tuple[str, str, Any]]:
    if not isinstance(usage, dict):
        return
    for key in ("prompt_tokens_details", "completion_tokens_details"):
        details = usage.get(key)
        if details is None:
            continue
        if not isinstance(details, dict):
            yield f"{pointer}/{key}", "an object of token counts, or null", details
            continue
        for name, count in details.items():
            if count is not None and not expect.is_type(count, int):
                yield f"{pointer}/{key}/{name}", "an integer token count", count


def annotation_problems(annotations: Any, pointer: str) -> Iterator[tuple[str, str, Any]]:
    if annotations is None:
        return
    if not isinstance(annotations, list):
        yield pointer, "an array of url_citation annotations", annotations
        return
    for position, item in enumerate(annotations):
        citation = item.get("url_citation") if isinstance(item, dict) else None
        if not (
            isinstance(item, dict)
            and item.get("type") == "url_citation"
            and isinstance(citation, dict)
            and all(expect.is_type(citation.get(key), kind) for key, kind in CITATION_FIELDS.items())
        ):
            expected = '{"type": "url_citation", "url_citation": {start_index, end_index, url, title}}'
            yield f"{pointer}/{position}", expected, item


def response_problems(body: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    yield from envelope_problems(body)
    yield from usage_problems(body.get("usage"), "/usage")
    for index, choice in enumerate(body.get("choices") or []):
        message = choice.get("message") if isinstance(choice, dict) else None
        if not isinstance(message, dict):
            continue  # CHAT-005's
        yield from _optional(message, "refusal", (str, NULL), f"/choices/{index}/message")
        yield from annotation_problems(message.get("annotations"), f"/choices/{index}/message/annotations")


@check("CHAT-016", needs="chat")
def test_optional_response_fields_have_documented_types(chat_response: Exchange) -> None:
    body = completion_object(chat_response)
    for pointer, expected, actual in response_problems(body):
        raise Violation(
            "An optional field of the chat completion has an undocumented type or value",
            pointer=pointer,
            expected=expected,
            actual=expect.short(actual),
            evidence=chat_response,
        )


def chunk_problems(chunk: dict[str, Any]) -> Iterator[tuple[str, str, Any]]:
    yield from envelope_problems(chunk)
    yield from _optional(chunk, "obfuscation", (str,), "")
    yield from _optional(chunk, "usage", (dict, NULL), "")
    yield from usage_problems(chunk.get("usage"), "/usage")
    for index, choice in enumerate(chunk.get("choices") or []):
        delta = choice.get("delta") if isinstance(choice, dict) else None
        if isinstance(delta, dict):
            yield from _optional(delta, "refusal", (str, NULL), f"/choices/{index}/delta")


@check("CHAT-STREAM-025", needs="chat")
def test_optional_chunk_fields_have_documented_types(
    chat_stream: StreamExchange, chat_stream_usage: StreamExchange
) -> None:
    judged(chat_stream)
    judged_streams = [chat_stream]
    if 200 <= (chat_stream_usage.status or 0) < 300:
        judged_streams.append(chat_stream_usage)  # a refused include_usage is CHAT-STREAM-030's
    for stream in judged_streams:
        for item in streams.chunks(stream):
            for pointer, expected, actual in chunk_problems(item.chunk):
                raise fail_at(
                    item,
                    "An optional field of a chunk has an undocumented type or value",
                    f"{pointer.lstrip('/')}: {expected}",
                    stream,
                    actual=f"{pointer.lstrip('/')}: {expect.short(actual)}",
                )
    if not streams.chunks(chat_stream):
        raise NotApplicable("no chunks to judge (see CHAT-STREAM-002)", see="CHAT-STREAM-002")
