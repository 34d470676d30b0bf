"""CHAT-STREAM-*: the streamed chat completion (seed 002 "stream"; seed 004 chunk example;
openai-python ``_streaming.py`` and ``lib/streaming/chat``; compat-bugs sections B–E).

Every failure names the offending event ("event #7") and quotes its raw line(s).
"""

from __future__ import annotations

import json

from conformance import expect, streams
from conformance.checks import _streaming as shared
from conformance.checks._streaming import fail_at
from conformance.core.results import NotApplicable, Unsupported, Violation
from conformance.engine import check
from conformance.streams import Item, Kind
from conformance.transport.exchange import Exchange, StreamExchange
from conformance.transport.sse import UNTERMINATED_EVENT

CLOSE_AFTER_DONE_S = 1.0


WHAT = "POST /chat/completions (stream)"


def judged(stream: StreamExchange) -> list[Item]:
    return shared.judged(stream, WHAT, see="CHAT-STREAM-008")


def declined(stream: StreamExchange, feature: str) -> None:
    """An honest refusal of an optional feature (expect.declined) is UNSUPPORTED."""
    expect.answered(stream)
    if expect.declined(stream):
        raise Unsupported(f"the provider refuses {feature} ({stream.status} with an error envelope)")


def finding(stream: StreamExchange, rules: tuple[str, ...], title: str, expected: str, *, chat: bool = True) -> None:
    found = streams.timeline(stream, chat=chat).findings
    for rule in rules:
        if rule in found:
            hit = found[rule]
            pointer = f"event #{hit.item.number}" if hit.item else "end of stream"
            actual = f"{hit.message}: {hit.item.raw}" if hit.item else hit.message
            raise Violation(title, pointer=pointer, expected=expected, actual=actual, evidence=stream)


# -- framing --------------------------------------------------------------------------------------------------


@check("CHAT-STREAM-001", needs="chat")
def test_stream_is_event_stream(chat_stream: StreamExchange) -> None:
    expect.status(chat_stream, 200)
    expect.media_type(chat_stream, "text/event-stream", "A streamed chat completion is not text/event-stream")


@check("CHAT-STREAM-002", needs="chat")
def test_stream_events_are_json_chunks(chat_stream: StreamExchange) -> None:
    shared.events_are_json(judged(chat_stream), chat_stream)


@check("CHAT-STREAM-003", needs="chat")
def test_stream_is_terminated_by_done(chat_stream: StreamExchange) -> None:
    shared.terminated_by_done(judged(chat_stream), chat_stream, "The stream was not terminated by [DONE]")


@check("CHAT-STREAM-004", needs="chat")
def test_every_event_ends_with_blank_line(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    assert chat_stream.decoded is not None
    for notice in chat_stream.decoded.notices:
        if notice.kind == UNTERMINATED_EVENT:
            raise Violation(
                "An event is not terminated by a blank line",
                pointer=f"line {notice.line}",
                expected="every event followed by an empty line (\\n\\n)",
                actual=notice.detail,
                evidence=chat_stream,
            )


@check("CHAT-STREAM-005", needs="chat")
def test_nothing_follows_done(chat_stream: StreamExchange) -> None:
    shared.nothing_after_done(judged(chat_stream), chat_stream, see="CHAT-STREAM-003")


@check("CHAT-STREAM-006", needs="chat")
def test_connection_closes_after_done(chat_stream: StreamExchange) -> None:
    done = next((item for item in judged(chat_stream) if item.kind is Kind.DONE), None)
    if done is None or done.event.time is None:
        raise NotApplicable("no [DONE] (see CHAT-STREAM-003)")
    if chat_stream.eof_s is None:
        raise Violation(
            "The connection stayed open after [DONE]",
            pointer=f"event #{done.number}",
            expected=f"the body ends within {CLOSE_AFTER_DONE_S:g} s of [DONE]",
            actual=f"still open when reading stopped ({chat_stream.cut_short or chat_stream.error})",
            evidence=chat_stream,
        )
    lag = chat_stream.eof_s - done.event.time
    if lag > CLOSE_AFTER_DONE_S:
        raise Violation(
            "The connection stayed open after [DONE]",
            pointer=f"event #{done.number}",
            expected=f"the body ends within {CLOSE_AFTER_DONE_S:g} s of [DONE]",
            actual=f"closed {lag:.2f} s after [DONE]",
            evidence=chat_stream,
        )


@check("CHAT-STREAM-007", needs="chat")
def test_stream_false_gets_json(chat_stream_false: Exchange) -> None:
    # The exact JSON label is CHAT-001's verdict; this rule is about JSON versus an event stream.
    expect.status(chat_stream_false, 200)
    if chat_stream_false.media_type == "text/event-stream" or chat_stream_false.text.lstrip().startswith("data:"):
        raise Violation(
            '"stream": false was answered with an event stream',
            expected="one JSON body",
            actual=f"{chat_stream_false.content_type}: {chat_stream_false.text[:120]!r}",
            evidence=chat_stream_false,
        )
    expect.json_object(chat_stream_false)


@check("CHAT-STREAM-008", needs="chat")
def test_stream_true_gets_events(chat_stream: StreamExchange) -> None:
    expect.success(chat_stream, "POST /chat/completions (stream)")
    try:
        body = json.loads(chat_stream.text)
    except ValueError:
        body = None
    if isinstance(body, dict) or not chat_stream.events:
        raise Violation(
            '"stream": true was answered with one JSON body, not events',
            expected="data: {...} events",
            actual=expect.short(body) if body is not None else "(no events)",
            evidence=chat_stream,
        )


# -- chunks ---------------------------------------------------------------------------------------------------


@check("CHAT-STREAM-010", needs="chat")
def test_chunks_are_chat_completion_chunks(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    for item in streams.chunks(chat_stream):
        if item.chunk.get("object") != "chat.completion.chunk":
            raise fail_at(
                item, 'A chunk lacks "object": "chat.completion.chunk"', '"chat.completion.chunk"', chat_stream
            )


@check("CHAT-STREAM-011", needs="chat")
def test_chunks_carry_id_created_model(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    for item in streams.chunks(chat_stream):
        chunk = item.chunk
        if not isinstance(chunk.get("id"), str) or not isinstance(chunk.get("model"), str):
            raise fail_at(item, "A chunk lacks id or model", "string id and model on every chunk", chat_stream)
        if not expect.epoch_seconds(chunk.get("created")):
            raise fail_at(
                item,
                "A chunk's created is missing or not epoch seconds",
                "an integer Unix timestamp in seconds",
                chat_stream,
            )


# Not `created`: a provider that stamps each chunk with the current second differs only when the stream
# crosses a second boundary -- a verdict that would depend on timing -- and no client compares it
# (openai-python keeps the first chunk's, openai-node the last one's). CHAT-STREAM-011 judges each value.
SAME_ON_EVERY_CHUNK = ("id", "model")


@check("CHAT-STREAM-012", needs="chat")
def test_chunks_share_id_and_model(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    found = streams.chunks(chat_stream)
    if not found:
        raise NotApplicable("no chunks (see CHAT-STREAM-002)")
    first = found[0].chunk
    for item in found[1:]:
        for key in SAME_ON_EVERY_CHUNK:
            if key in item.chunk and key in first and item.chunk[key] != first[key]:
                raise fail_at(
                    item,
                    f"The chunks' {key} changes within one completion",
                    f"{key} = {expect.short(first[key])} as in event #{found[0].number}",
                    chat_stream,
                )


@check("CHAT-STREAM-013", needs="chat")
def test_chunk_choices_carry_index(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    for item in streams.chunks(chat_stream):
        for choice in streams.choices_of(item):
            if not expect.is_type(choice.get("index"), int):
                raise fail_at(item, "A chunk choice lacks an integer index", "choices[].index", chat_stream)


@check("CHAT-STREAM-014", needs="chat")
def test_chunk_choices_carry_delta(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    for item in streams.chunks(chat_stream):
        for choice in streams.choices_of(item):
            if not isinstance(choice.get("delta"), dict):
                raise fail_at(
                    item, "A chunk choice carries no delta object", "choices[].delta (not message)", chat_stream
                )


# -- ordering (streams.TRANSITIONS) ---------------------------------------------------------------------------


@check("CHAT-STREAM-020", needs="chat")
def test_first_delta_carries_assistant_role(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    finding(
        chat_stream,
        ("role-first", "role-value"),
        "A choice's first delta does not carry role assistant",
        'the first delta of each choice: {"role": "assistant", ...}',
    )


@check("CHAT-STREAM-021", needs="chat")
def test_later_deltas_do_not_repeat_role(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    finding(chat_stream, ("role-once",), "A later delta repeats the role", "role only in the first delta")


@check("CHAT-STREAM-022", needs="chat")
def test_exactly_one_documented_finish_per_choice(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    finding(
        chat_stream,
        ("finish-value", "one-finish"),
        "A choice does not get exactly one documented finish_reason",
        f"one chunk per choice with finish_reason in {', '.join(streams.CHAT_FINISH_REASONS)}",
    )


@check("CHAT-STREAM-023", needs="chat")
def test_nothing_after_finish(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    finding(
        chat_stream,
        ("after-finish",),
        "A choice got content after its finish_reason",
        "no delta content after the finish chunk",
    )


@check("CHAT-STREAM-024", needs="chat")
def test_finish_reason_key_on_every_choice(chat_stream: StreamExchange) -> None:
    judged(chat_stream)
    for item in streams.chunks(chat_stream):
        for choice in streams.choices_of(item):
            if "finish_reason" not in choice:
                raise fail_at(
                    item,
                    "A chunk choice lacks the finish_reason key",
                    '"finish_reason": null until the end',
                    chat_stream,
                )


# -- consistency and delivery ---------------------------------------------------------------------------------


@check("CHAT-STREAM-070", needs="chat")
def test_stream_content_equals_non_stream(
    chat_stream: StreamExchange,
    chat_response: Exchange,
    chat_response_again: Exchange,
) -> None:
    judged(chat_stream)
    if streams.errors(chat_stream):
        raise NotApplicable("the stream carried an in-band error")
    contents = []
    for exchange in (chat_response, chat_response_again):
        try:
            contents.append(exchange.json()["choices"][0]["message"]["content"])
        except (ValueError, KeyError, IndexError, TypeError):
            raise NotApplicable("no non-streamed content to compare with (see CHAT-005)") from None
    if contents[0] != contents[1]:
        raise NotApplicable("the provider is not deterministic at temperature 0: two identical requests differed")
    streamed = streams.content_text(chat_stream)
    if streamed != contents[0]:
        raise Violation(
            "The streamed content differs from the non-streamed content of the same request",
            expected=repr(contents[0][:200]),
            actual=repr(streamed[:200]),
            evidence=[chat_stream, chat_response],
        )


@check("CHAT-STREAM-071", needs="chat")
def test_stream_is_delivered_incrementally(chat_stream: StreamExchange) -> None:
    found = judged(chat_stream)
    if len(found) < 3:
        raise NotApplicable("too few events to judge delivery")
    arrivals = {item.event.time for item in found}
    if len(arrivals) < 2:
        raise Violation(
            "The whole stream arrived in one network read",
            expected="events spread over several reads",
            actual=f"{len(found)} events, all in one read",
            evidence=chat_stream,
        )


# -- errors ---------------------------------------------------------------------------------------------------


def _is_completion_body(stream: StreamExchange) -> bool:
    try:
        body = stream.json()
    except (ValueError, UnicodeDecodeError):
        return False
    return isinstance(body, dict) and "choices" in body and "error" not in body


@check("CHAT-STREAM-080", needs="chat")
def test_error_before_streaming_is_a_real_status(stream_unknown_model: StreamExchange) -> None:
    # The envelope's shape is ERR-001's verdict; this rule is about status and framing.
    stream = stream_unknown_model
    expect.answered(stream)
    status = stream.status or 0
    if 200 <= status < 300:
        found = streams.items(stream)
        if found and not any(item.kind is Kind.ERROR for item in found) and streams.chunks(stream):
            raise NotApplicable("the provider served the unknown model (see ERR-005): no error to judge")
        if not found and _is_completion_body(stream):  # served, but not streamed: CHAT-STREAM-008's verdict
            raise NotApplicable("the provider served the unknown model in one JSON body (see ERR-005): no error here")
        raise Violation(
            "An error known before streaming was sent as a 200 stream",
            expected="a 4xx/5xx status with a JSON error body",
            actual=f"{status} {stream.content_type}: {stream.text[:160]!r}",
            evidence=stream,
        )
    if stream.media_type == "text/event-stream":
        raise Violation(
            "An error status was sent as an event stream",
            expected="a JSON error body",
            actual=f"{status} {stream.content_type}",
            evidence=stream,
        )
    expect.json_value(stream)


@check("CHAT-STREAM-081", needs="chat")
def test_in_band_errors_are_enveloped_and_end_the_stream(
    chat_stream: StreamExchange,
    chat_stream_usage: StreamExchange,
    chat_stream_n: StreamExchange,
) -> None:
    judged_any = False
    for stream in (chat_stream, chat_stream_usage, chat_stream_n):
        for item in streams.errors(stream):
            judged_any = True
            error = item.chunk.get("error")
            if not (
                isinstance(error, dict) and isinstance(error.get("message"), str) and isinstance(error.get("type"), str)
            ):
                raise fail_at(
                    item,
                    "An in-band stream error is not the error envelope",
                    'data: {"error": {"message": str, "type": str, ...}}',
                    stream,
                )
            later = [i for i in streams.items(stream) if i.number > item.number and i.kind is not Kind.DONE]
            if later:
                raise fail_at(
                    later[0], "The stream went on after an in-band error", "[DONE] right after the error", stream
                )
            if not any(i.kind is Kind.DONE for i in streams.items(stream)) or stream.eof_s is None:
                raise fail_at(
                    item,
                    "The stream did not end cleanly after an in-band error",
                    "the error event, then data: [DONE], then the end of the body",
                    stream,
                )
    if not judged_any:
        raise NotApplicable("no stream of this run carried an in-band error; nothing to judge")


# -- legal, but known to break popular clients ----------------------------------------------------------------


@check("CHAT-STREAM-090", needs="chat")
def test_events_are_unnamed_or_message(chat_stream: StreamExchange) -> None:
    for item in judged(chat_stream):
        if item.event.event not in (None, "", "message"):
            raise fail_at(
                item, "A chat stream event has a custom event name", "no event field, or event: message", chat_stream
            )


@check("CHAT-STREAM-091", needs="chat")
def test_each_event_is_one_data_line(chat_stream: StreamExchange) -> None:
    for item in judged(chat_stream):
        data_lines = [line for line in item.event.lines if line.text.startswith("data")]
        if len(data_lines) > 1:
            raise fail_at(
                item, "An event spreads its JSON over several data lines", "one data: line per event", chat_stream
            )
