"""Stream rules shared by the chat and completion stream checks (same framing, different endpoints)."""

from __future__ import annotations

from conformance import expect, streams
from conformance.core.results import NotApplicable, Violation
from conformance.streams import Item, Kind
from conformance.transport.exchange import StreamExchange


def judged(stream: StreamExchange, what: str, see: str) -> list[Item]:
    """The stream's items, once the provider answered 2xx with at least one event."""
    expect.success(stream, what)
    found = streams.items(stream)
    if not found:
        raise NotApplicable(f"the answer carried no events (see {see})")
    return found


def fail_at(item: Item, title: str, expected: str, stream: StreamExchange, actual: str | None = None) -> Violation:
    """A violation that names the event and quotes its raw lines."""
    return Violation(
        title, pointer=f"event #{item.number}", expected=expected, actual=actual or item.raw, evidence=stream
    )


def events_are_json(found: list[Item], stream: StreamExchange) -> None:
    for item in found:
        if item.kind is Kind.DONE:
            return
        if item.kind is Kind.INVALID:
            raise fail_at(item, "A stream event is not a JSON object", "data: {...one JSON object...}", stream)


def terminated_by_done(found: list[Item], stream: StreamExchange, title: str) -> None:
    if not any(item.kind is Kind.DONE for item in found):
        raise Violation(
            title,
            pointer=f"event #{len(found)} (last)",
            expected="a final event data: [DONE]",
            actual=found[-1].raw,
            evidence=stream,
        )


def nothing_after_done(found: list[Item], stream: StreamExchange, see: str) -> None:
    done = next((item for item in found if item.kind is Kind.DONE), None)
    if done is None:
        raise NotApplicable(f"no [DONE] (see {see})")
    after = [item for item in found if item.number > done.number]
    if after:
        raise fail_at(after[0], "An event follows [DONE]", f"nothing after [DONE] (event #{done.number})", stream)


def no_unrequested_usage(stream: StreamExchange) -> None:
    for item in streams.chunks(stream):
        if item.chunk.get("choices") == [] or item.chunk.get("usage") is not None:
            raise fail_at(
                item,
                "Usage was streamed without stream_options.include_usage",
                "no usage chunk and no usage values unless requested",
                stream,
            )
