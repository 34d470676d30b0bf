"""RESP-STREAM-*, RESP-TOOL-003: the streamed Responses API (OpenAPI ResponseStreamEvent; openai-python
lib/streaming/responses/_responses.py), read through the transition tables of conformance/response_events.py.

Every failure names the offending event ("event #7") and quotes its raw lines.
"""

from __future__ import annotations

import json
from typing import Any

from conformance import expect
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.response_events import CLIENT_ORDER, LIFECYCLE, Timeline, Typed, timeline, typed
from conformance.transport.exchange import StreamExchange

WHAT = "POST /responses (stream)"
FRAMING = "RESP-STREAM-001"
ERRORS = "RESP-STREAM-008"


def judged(stream: StreamExchange, *, owner: str | None = FRAMING) -> Timeline:
    """The stream read through the tables, once the provider answered it 2xx with events."""
    served_stream(stream, owner)
    line = timeline(stream)
    if not line.events:
        raise NotApplicable(f"the answer carried no JSON events (see {FRAMING})", see=FRAMING)
    return line


def served_stream(stream: StreamExchange, owner: str | None) -> None:
    expect.served_status(stream, WHAT, feature="responses", owner=owner)


def error_reported(line: Timeline) -> bool:
    """Whether the provider reported an error in the stream (any shape): it may then end without completing."""
    return any(e.type in ("error", "response.failed") or e.payload.get("error") not in (None, {}) for e in line.events)


def fail(line: Timeline, rules: tuple[str, ...], title: str, expected: str, stream: StreamExchange) -> None:
    for rule in rules:
        hit = line.findings.get(rule)
        if hit is not None:
            pointer = f"event #{hit.event.number}" if hit.event else "end of stream"
            actual = f"{hit.message}: {hit.event.raw}" if hit.event else hit.message
            raise Violation(title, pointer=pointer, expected=expected, actual=actual, evidence=stream)


@check(FRAMING, needs="responses")
def test_stream_is_typed_events(responses_stream: StreamExchange) -> None:
    served_stream(responses_stream, None)
    expect.media_type(responses_stream, "text/event-stream", "A streamed response is not text/event-stream")
    good, bad = typed(responses_stream)
    for number, event in bad:
        if event.data != "[DONE]":
            raise Violation(
                "A stream event is not a JSON object",
                pointer=f"event #{number}",
                expected="data: {one JSON object with a type}",
                actual=event.data[:200],
                evidence=responses_stream,
            )
    for item in good:
        if not item.type and not item.payload.get("error"):  # a chat-style error is RESP-STREAM-008's
            raise Violation(
                "A stream event has no type",
                pointer=f"event #{item.number}",
                expected='a string "type"',
                actual=item.raw,
                evidence=responses_stream,
            )
        if item.event.event is not None and item.type and item.event.event != item.type:
            raise Violation(
                "An event's name is not its type",
                pointer=f"event #{item.number}",
                expected=f"event: {item.type}",
                actual=item.raw,
                evidence=responses_stream,
            )


@check("RESP-STREAM-002", needs="responses")
def test_events_in_client_order(responses_stream: StreamExchange, responses_tool_stream: StreamExchange) -> None:
    for stream in (responses_stream, responses_tool_stream):
        try:
            line = judged(stream)
        except NotApplicable:
            if stream is responses_stream:
                raise
            continue  # the streamed call is RESP-TOOL-003's to report
        fail(
            line,
            CLIENT_ORDER,
            "Stream events come out of the order, or without the positions, clients accumulate them by",
            "response.created first; output_index on every item event (content_index on part events); "
            "output_item.added before the item's content events; content_part.added "
            "before the part's text events; each output index added once",
            stream,
        )


@check("RESP-STREAM-003", needs="responses")
def test_items_opened_and_closed(responses_stream: StreamExchange) -> None:
    line = judged(responses_stream)
    fail(
        line,
        LIFECYCLE,
        "An item or part of the stream is not opened and closed as documented",
        "created, in_progress, then per item: output_item.added, content_part.added, deltas, output_text.done, "
        "content_part.done, output_item.done; then the terminal event, and nothing after",
        responses_stream,
    )


def final_response(line: Timeline, stream: StreamExchange) -> tuple[Typed, dict[str, Any]]:
    """The terminal event and its response; a missing one fails (RESP-STREAM-004)."""
    terminal = line.terminal
    if terminal is None:
        if error_reported(line):
            raise NotApplicable(f"the provider reported an error in the stream (see {ERRORS})", see=ERRORS)
        raise Violation(
            "The stream ended without response.completed",
            pointer=f"event #{line.events[-1].number}",
            expected="a last event response.completed (or response.incomplete) with the full response",
            actual=line.events[-1].raw,
            evidence=stream,
        )
    response = terminal.payload.get("response")
    return terminal, response if isinstance(response, dict) else {}


@check("RESP-STREAM-004", needs="responses")
def test_completed_carries_output(responses_stream: StreamExchange) -> None:
    line = judged(responses_stream)
    terminal, response = final_response(line, responses_stream)
    if terminal.type == "response.failed":
        raise NotApplicable(f"the response failed (see {ERRORS})", see=ERRORS)
    output = response.get("output") if isinstance(response.get("output"), list) else []
    final_ids = {item.get("id") for item in output if isinstance(item, dict)}
    streamed = {**line.added, **line.finished}
    missing = [item.get("id") for item in streamed.values() if item.get("id") not in final_ids]
    text = "".join(
        part.get("text", "")
        for item in output
        if isinstance(item, dict) and item.get("type") == "message" and isinstance(item.get("content"), list)
        for part in item["content"]
        if isinstance(part, dict) and isinstance(part.get("text"), str)
    )
    joined = "".join(line.text(index) for index in line.message_indexes())
    if missing or (joined and not text):
        raise Violation(
            f"{terminal.type} does not carry the streamed output",
            pointer=f"event #{terminal.number}",
            expected=f"response.output with every streamed item ({len(streamed)}) and the text {joined[:80]!r}",
            actual=f"output {expect.short(response.get('output', '(missing)'))}",
            evidence=responses_stream,
        )


@check("RESP-STREAM-005", needs="responses")
def test_sequence_numbers(responses_stream: StreamExchange) -> None:
    line = judged(responses_stream)
    last: int | None = None
    for event in line.events:
        number = event.payload.get("sequence_number")
        if not expect.is_type(number, int) or (last is not None and number <= last):
            raise Violation(
                "sequence_number is missing or does not increase",
                pointer=f"event #{event.number}",
                expected=f"an integer above {last}" if last is not None else "an integer",
                actual=event.raw,
                evidence=responses_stream,
            )
        last = number


@check("RESP-STREAM-006", needs="responses")
def test_events_name_their_item(responses_stream: StreamExchange, responses_tool_stream: StreamExchange) -> None:
    for stream in (responses_stream, responses_tool_stream):
        try:
            line = judged(stream, owner=FRAMING)
        except NotApplicable:
            continue
        for event in line.events:
            index = event.payload.get("output_index")
            added = line.added.get(index) if isinstance(index, int) else None
            if added is None or not isinstance(added.get("id"), str):
                continue  # an event before its item is RESP-STREAM-002's
            item = event.payload.get("item")
            named = event.payload.get("item_id", item.get("id") if isinstance(item, dict) else None)
            carries_id = "item_id" in event.payload or event.type == "response.output_item.done"
            if carries_id and named != added["id"]:
                raise Violation(
                    "An event names another item than the one added at its output_index",
                    pointer=f"event #{event.number}",
                    expected=f"item id {added['id']!r}",
                    actual=event.raw,
                    evidence=stream,
                )


def _text_of(item: Any, content: int) -> Any:
    parts = item.get("content") if isinstance(item, dict) else None
    return parts[content].get("text") if isinstance(parts, list) and len(parts) > content else None


@check("RESP-STREAM-007", needs="responses")
def test_deltas_join_to_final_text(responses_stream: StreamExchange) -> None:
    line = judged(responses_stream)
    _, response = final_response(line, responses_stream)
    final = {i: item for i, item in enumerate(response.get("output") or []) if isinstance(item, dict)}
    for (index, content), parts in sorted(line.deltas.items()):
        joined = "".join(parts)
        places = {
            "output_text.done": line.done_texts.get((index, content), joined),
            "output_item.done": _text_of(line.finished.get(index), content) if index in line.finished else joined,
            "response.completed": _text_of(final.get(index), content) if index in final else joined,
        }
        for place, text in places.items():
            if text != joined:
                raise Violation(
                    f"The deltas do not join to the text of {place}",
                    pointer=f"output {index}, content part {content}",
                    expected=repr(joined[:200]),
                    actual=repr(text if not isinstance(text, str) else text[:200]),
                    evidence=responses_stream,
                )


@check(ERRORS, needs="responses")
def test_stream_errors_shaped(responses_stream: StreamExchange, responses_tool_stream: StreamExchange) -> None:
    seen = 0
    for stream in (responses_stream, responses_tool_stream):
        try:
            line = judged(stream)
        except NotApplicable:
            continue
        for event in line.events:
            problem = _error_problem(event)
            if problem is None:
                continue
            seen += 1
            if problem:
                raise Violation(
                    "An error in the stream is not shaped as documented",
                    pointer=f"event #{event.number}",
                    expected='{"type": "error", "code": str|null, "message": str, "sequence_number": int} '
                    "or response.failed with response.error {code, message}",
                    actual=f"{problem}: {event.raw}",
                    evidence=stream,
                )
    if not seen:
        raise NotApplicable("no error was reported in the streams")


def _error_problem(event: Typed) -> str | None:
    """ "" for a documented error event, the problem for a malformed one, None for an event that is no error."""
    payload = event.payload
    if event.type == "error":
        ok = isinstance(payload.get("message"), str) and expect.is_type(payload.get("sequence_number"), int)
        return "" if ok and (payload.get("code") is None or isinstance(payload.get("code"), str)) else "fields"
    if event.type == "response.failed":
        response = payload.get("response") if isinstance(payload.get("response"), dict) else {}
        error = response.get("error") if isinstance(response.get("error"), dict) else {}
        ok = response.get("status") == "failed" and isinstance(error.get("message"), str) and "code" in error
        return "" if ok else "response.failed without status failed and error {code, message}"
    if not event.type and payload.get("error"):
        return "a chat-style error object without a type"
    return None


@check("RESP-TOOL-003", needs="responses")
def test_streamed_call_arguments(responses_tool_stream: StreamExchange) -> None:
    line = judged(responses_tool_stream)
    if error_reported(line):
        raise NotApplicable(f"the provider reported an error in the stream (see {ERRORS})", see=ERRORS)
    calls = {i: item for i, item in line.finished.items() if item.get("type") == "function_call"}
    if not calls:
        calls = {i: item for i, item in line.added.items() if item.get("type") == "function_call"}
    if not calls:
        raise NotApplicable("no function_call was streamed (see RESP-TOOL-001)", see="RESP-TOOL-001")
    for index, item in calls.items():
        joined = "".join(line.arguments.get(index, []))
        done = line.done_arguments.get(index)
        final = item.get("arguments")
        if not joined or done != joined or (index in line.finished and final != joined):
            raise Violation(
                "A streamed function call does not stream its arguments",
                pointer=f"output {index}",
                expected="function_call_arguments.delta events joining to the .done arguments and the item's arguments",
                actual=f"deltas {joined!r}, done {json.dumps(done)}, item {json.dumps(final)}",
                evidence=responses_tool_stream,
            )
