"""FT-*: legacy fine-tunes (seed 002 "Fine-tunes"; legacy FineTune, FineTuneEvent schemas).

What a schema cannot say is checked here: the created job retrieves and is listed, a cancelled job
reports cancelled (and stays so), and the event stream of a finished job ends with ``data: [DONE]``.
The job these checks create is cancelled at once, so a real provider does not train on it.
"""

from __future__ import annotations

import json
from typing import Any

from conformance import expect
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.transport.exchange import Exchange, StreamExchange

CREATE = "POST /fine-tunes"


#: The legacy FineTune schema's required members and their JSON types.
JOB_FIELDS: tuple[tuple[str, type | tuple[type, ...]], ...] = (
    ("id", str),
    ("object", str),
    ("created_at", int),
    ("updated_at", int),
    ("model", str),
    ("fine_tuned_model", (str, type(None))),
    ("organization_id", str),
    ("status", str),
    ("hyperparams", dict),
    ("training_files", list),
    ("validation_files", list),
    ("result_files", list),
)


def job_object(exchange: Exchange, see: str) -> dict[str, Any]:
    expect.success(exchange, CREATE)
    try:
        body = exchange.json()
    except (ValueError, UnicodeDecodeError):
        raise NotApplicable(f"the answer is not JSON (see {see})") from None
    if not isinstance(body, dict):
        raise NotApplicable(f"the answer is not a JSON object (see {see})")
    return body


def status_is(exchange: Exchange, expected: str, title: str) -> None:
    expect.status(exchange, 200, title=f"{title}: not a 200")
    body = expect.json_object(exchange)
    if body.get("status") != expected:
        raise Violation(
            title,
            pointer="/status",
            expected=f'"{expected}"',
            actual=expect.short(body.get("status", "(missing)")),
            evidence=exchange,
        )


def real_events(stream: StreamExchange) -> list[Any]:
    # Only events ended by a blank line count: a WHATWG parser drops an unterminated last event.
    return [event for event in stream.events if event.terminated]


@check("FT-001", needs="fine_tunes")
def test_create_answers_a_fine_tune_object(fine_tune_job: Exchange) -> None:
    expect.success(fine_tune_job, CREATE)
    body = expect.json_object(fine_tune_job)
    for key, kind in JOB_FIELDS:
        expect.field(body, key, kind, "", fine_tune_job)
    if body["object"] != "fine-tune":
        raise Violation(
            'The job lacks "object": "fine-tune"',
            pointer="/object",
            expected='"fine-tune"',
            actual=expect.short(body["object"]),
            evidence=fine_tune_job,
        )


@check("FT-002", needs="fine_tunes")
def test_job_lists_its_training_file(fine_tune_job: Exchange, training_file_id: str) -> None:
    files = job_object(fine_tune_job, "FT-001").get("training_files")
    if not isinstance(files, list):
        raise NotApplicable("no training_files array (see FT-001)")
    ids = [item.get("id") for item in files if isinstance(item, dict)]
    if training_file_id not in ids:
        raise Violation(
            "The job does not list its training file as a file object",
            pointer="/training_files",
            expected=f'[{{"id": "{training_file_id}", "object": "file", ...}}]',
            actual=expect.short(files, 160),
            evidence=fine_tune_job,
        )


@check("FT-003", needs="fine_tunes")
def test_job_retrieves_with_its_id(fine_tune_retrieve: Exchange, fine_tune_id: str) -> None:
    expect.status(fine_tune_retrieve, 200, title="The created fine-tune does not retrieve")
    body = expect.json_object(fine_tune_retrieve)
    if body.get("id") != fine_tune_id:
        raise Violation(
            "The retrieved job has a different id",
            pointer="/id",
            expected=repr(fine_tune_id),
            actual=expect.short(body.get("id", "(missing)")),
            evidence=fine_tune_retrieve,
        )


@check("FT-004", needs="fine_tunes")
def test_job_list_includes_the_job(fine_tunes_listing: Exchange, fine_tune_id: str) -> None:
    expect.status(fine_tunes_listing, 200, title="GET /fine-tunes failed")
    body = expect.json_object(fine_tunes_listing)
    if body.get("object") != "list":
        raise Violation(
            'The job list lacks "object": "list"',
            pointer="/object",
            expected='"list"',
            actual=expect.short(body.get("object", "(missing)")),
            evidence=fine_tunes_listing,
        )
    data = expect.field(body, "data", list, "", fine_tunes_listing)
    listed = [item.get("id") for item in data if isinstance(item, dict)]
    if fine_tune_id not in listed:
        raise Violation(
            "The created job is not listed",
            pointer="/data",
            expected=f"an entry with id {fine_tune_id!r}",
            actual=f"{len(listed)} jobs: {expect.short(listed[:10])}",
            evidence=fine_tunes_listing,
        )


@check("FT-005", needs="fine_tunes")
def test_cancel_answers_status_cancelled(fine_tune_cancel: Exchange) -> None:
    status_is(fine_tune_cancel, "cancelled", "The cancel answer does not report the job cancelled")


@check("FT-006", needs="fine_tunes")
def test_cancelled_job_stays_cancelled(fine_tune_after_cancel: Exchange) -> None:
    status_is(fine_tune_after_cancel, "cancelled", "A cancelled job does not report cancelled afterwards")


@check("FT-007", needs="fine_tunes")
def test_events_are_a_list_of_fine_tune_events(fine_tune_events: Exchange) -> None:
    exchange = fine_tune_events
    expect.status(exchange, 200, title="GET /fine-tunes/{id}/events failed")
    body = expect.json_object(exchange)
    if body.get("object") != "list":
        raise Violation(
            'The event list lacks "object": "list"',
            pointer="/object",
            expected='"list"',
            actual=expect.short(body.get("object", "(missing)")),
            evidence=exchange,
        )
    data = expect.field(body, "data", list, "", exchange)
    if not data:
        raise Violation(
            "No events",
            pointer="/data",
            expected="at least the enqueue and cancel events",
            actual="[]",
            evidence=exchange,
        )
    for index, event in enumerate(data):
        pointer = f"/data/{index}"
        if not isinstance(event, dict) or event.get("object") != "fine-tune-event":
            raise Violation(
                'An event is not an object with "object": "fine-tune-event"',
                pointer=pointer,
                expected='{"object": "fine-tune-event", "created_at", "level", "message"}',
                actual=expect.short(event, 120),
                evidence=exchange,
            )
        expect.field(event, "created_at", int, pointer, exchange)
        expect.field(event, "level", str, pointer, exchange)
        expect.field(event, "message", str, pointer, exchange)


@check("FT-008", needs="fine_tunes")
def test_event_stream_ends_with_done(fine_tune_event_stream: StreamExchange) -> None:
    stream = fine_tune_event_stream
    expect.answered(stream)
    if stream.status != 200 or stream.media_type != "text/event-stream":
        raise NotApplicable("the events were not streamed (see FT-009)")
    events = real_events(stream)
    last = events[-1].data if events else None
    if last != "[DONE]":
        raise Violation(
            "The fine-tune event stream does not end with [DONE]",
            pointer=f"event #{len(events) - 1}" if events else "end of stream",
            expected="data: [DONE] once the job is finished (it was cancelled)",
            actual=expect.short(last, 120) if last is not None else "no event",
            evidence=stream,
        )


@check("FT-009", needs="fine_tunes")
def test_stream_true_answers_an_event_stream_of_events(fine_tune_event_stream: StreamExchange) -> None:
    stream = fine_tune_event_stream
    expect.status(stream, 200, title="GET /fine-tunes/{id}/events?stream=true failed")
    expect.media_type(stream, "text/event-stream", "stream=true did not answer an event stream")
    events = [event for event in real_events(stream) if event.data != "[DONE]"]
    if not events:
        raise Violation(
            "The event stream carries no event",
            expected="one data: line per fine-tune event",
            actual="none",
            evidence=stream,
        )
    for event in events:
        try:
            payload = json.loads(event.data)
        except ValueError:
            payload = None
        if not isinstance(payload, dict) or payload.get("object") != "fine-tune-event":
            raise Violation(
                "A streamed event is not a fine-tune-event object",
                pointer=f"event #{event.index}",
                expected='data: {"object": "fine-tune-event", ...}',
                actual=expect.short(event.data, 120),
                evidence=stream,
            )


@check("FT-010", needs="fine_tunes")
def test_unknown_fine_tune_is_404(fine_tune_unknown: Exchange) -> None:
    expect.status(fine_tune_unknown, 404, title="Retrieving an unknown fine-tune is not a 404")


@check("FT-011", needs="fine_tunes")
def test_job_times_are_epoch_seconds(fine_tune_job: Exchange) -> None:
    body = job_object(fine_tune_job, "FT-001")
    for key in ("created_at", "updated_at"):
        if key not in body or not expect.is_type(body[key], int):
            raise NotApplicable(f"no integer {key} (see FT-001)")
        if not expect.epoch_seconds(body[key]):
            raise Violation(
                f"The job's {key} is not epoch seconds",
                pointer=f"/{key}",
                expected="an integer Unix timestamp in seconds",
                actual=expect.short(body[key]),
                evidence=fine_tune_job,
            )
