"""CMPL-STREAM-*: the streamed completion gets the same framing, chunk and ordering rules as chat
(seed 002 completions `stream`: "data-only server-sent events … terminated by a data: [DONE] message")."""

from __future__ import annotations

from conformance import expect, streams
from conformance.checks import _streaming as shared
from conformance.checks._streaming import fail_at
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.streams import Item
from conformance.transport.exchange import StreamExchange

WHAT = "POST /completions (stream)"


def judged(stream: StreamExchange) -> list[Item]:
    return shared.judged(stream, WHAT, see="CMPL-STREAM-002")


@check("CMPL-STREAM-001", needs="completions")
def test_completion_stream_is_terminated_by_done(completion_stream: StreamExchange) -> None:
    shared.terminated_by_done(
        judged(completion_stream), completion_stream, "The completion stream was not terminated by [DONE]"
    )


@check("CMPL-STREAM-002", needs="completions")
def test_completion_stream_is_event_stream(completion_stream: StreamExchange) -> None:
    expect.status(completion_stream, 200)
    expect.media_type(completion_stream, "text/event-stream", "A streamed completion is not text/event-stream")


@check("CMPL-STREAM-003", needs="completions")
def test_completion_stream_events_are_json(completion_stream: StreamExchange) -> None:
    shared.events_are_json(judged(completion_stream), completion_stream)


@check("CMPL-STREAM-004", needs="completions")
def test_completion_stream_nothing_follows_done(completion_stream: StreamExchange) -> None:
    shared.nothing_after_done(judged(completion_stream), completion_stream, see="CMPL-STREAM-001")


@check("CMPL-STREAM-005", needs="completions")
def test_completion_chunks_share_object_id_and_model(completion_stream: StreamExchange) -> None:
    judged(completion_stream)
    found = streams.chunks(completion_stream)
    if not found:
        raise NotApplicable("no chunks (see CMPL-STREAM-003)")
    first = found[0].chunk
    for item in found:
        chunk = item.chunk
        if chunk.get("object") != "text_completion":
            raise fail_at(item, 'A chunk lacks "object": "text_completion"', '"text_completion"', completion_stream)
        if not (
            isinstance(chunk.get("id"), str)
            and isinstance(chunk.get("model"), str)
            and expect.epoch_seconds(chunk.get("created"))
        ):
            raise fail_at(
                item,
                "A chunk lacks id, model or created (epoch seconds)",
                "id, created, model on every chunk",
                completion_stream,
            )
        # Not `created`: a per-chunk timestamp differs only when the stream crosses a second boundary, a
        # verdict that would depend on timing (see CHAT-STREAM-012); each value is judged above.
        for key in ("id", "model"):
            if chunk[key] != first.get(key):
                raise fail_at(
                    item,
                    f"The chunks' {key} changes within one completion",
                    f"{key} = {expect.short(first.get(key))} as in event #{found[0].number}",
                    completion_stream,
                )


@check("CMPL-STREAM-006", needs="completions")
def test_completion_chunk_choices_carry_index_and_text(completion_stream: StreamExchange) -> None:
    judged(completion_stream)
    for item in streams.chunks(completion_stream):
        for choice in streams.choices_of(item):
            if not expect.is_type(choice.get("index"), int) or not isinstance(choice.get("text"), str):
                raise fail_at(
                    item,
                    "A chunk choice lacks an integer index or a string text",
                    "choices[].index and .text",
                    completion_stream,
                )


@check("CMPL-STREAM-007", needs="completions")
def test_completion_choice_finishes_once(completion_stream: StreamExchange) -> None:
    judged(completion_stream)
    found = streams.timeline(completion_stream, chat=False).findings
    for rule in ("finish-value", "one-finish", "after-finish"):
        if rule in found:
            hit = found[rule]
            raise Violation(
                "A choice does not get exactly one documented finish_reason, with no text after it",
                pointer=f"event #{hit.item.number}" if hit.item else "end of stream",
                expected=f"one finish_reason in {', '.join(streams.COMPLETION_FINISH_REASONS)}, last",
                actual=f"{hit.message}: {hit.item.raw}" if hit.item else hit.message,
                evidence=completion_stream,
            )


@check("CMPL-STREAM-008", needs="completions")
def test_completion_stream_usage_only_when_requested(completion_stream: StreamExchange) -> None:
    judged(completion_stream)
    shared.no_unrequested_usage(completion_stream)
