"""CHAT-STREAM-*: the streamed chat completion (seed 002 "stream"; openai-python _streaming.py)."""

from __future__ import annotations

import json

from conformance import expect
from conformance.http import StreamExchange
from conformance.plugin import requirement
from conformance.results import Violation


def _line_of(event_index: int, stream: StreamExchange) -> str:
    event = stream.events[event_index]
    return " | ".join(line.text for line in event.lines) or "(blank)"


@requirement("CHAT-STREAM-001", needs="chat")
def test_stream_is_event_stream(chat_stream: StreamExchange) -> None:
    expect.status(chat_stream, 200)
    expect.media_type(chat_stream, "text/event-stream", "A streamed chat completion is not text/event-stream")


@requirement("CHAT-STREAM-002", needs="chat")
def test_stream_events_are_json_chunks(chat_stream: StreamExchange) -> None:
    expect.success(chat_stream, "POST /chat/completions (stream)")
    for index, event in enumerate(chat_stream.events):
        if event.data == "[DONE]":
            continue
        try:
            chunk = json.loads(event.data)
        except ValueError:
            chunk = None
        if not isinstance(chunk, dict):
            raise Violation(
                "A stream event is not a JSON object",
                pointer=f"event #{index + 1}",
                expected="data: {...one JSON chunk...}",
                actual=_line_of(index, chat_stream),
                evidence=chat_stream,
            )


@requirement("CHAT-STREAM-003", needs="chat")
def test_stream_ends_with_done(chat_stream: StreamExchange) -> None:
    expect.success(chat_stream, "POST /chat/completions (stream)")
    events = chat_stream.events
    if not events or events[-1].data != "[DONE]":
        actual = "no events" if not events else _line_of(len(events) - 1, chat_stream)
        raise Violation(
            "The stream did not end with [DONE]",
            pointer=f"event #{len(events)}",
            expected="data: [DONE]",
            actual=actual,
            evidence=chat_stream,
        )
