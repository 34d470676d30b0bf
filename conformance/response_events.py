"""What a Responses API stream means: its typed events read in order through transition tables, the way
openai-python's ``ResponseStreamState`` (lib/streaming/responses/_responses.py) accumulates them.

The documented order for a message is ``response.created`` → ``response.in_progress`` →
``response.output_item.added`` → ``response.content_part.added`` → ``response.output_text.delta``… →
``response.output_text.done`` → ``response.content_part.done`` → ``response.output_item.done`` →
``response.completed`` (``response.incomplete`` or ``response.failed`` when the response did not complete);
a function call streams ``response.function_call_arguments.delta``… then ``.done`` inside its item. The
SSE decoder (``transport/sse.py``) is the strict one every stream uses; this module reads its events' data.

Findings are named by rule; the checks map each rule to its requirement (:data:`CLIENT_ORDER` are the ones
openai-python's helper raises on).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.transport.exchange import StreamExchange
from conformance.transport.sse import Event

TERMINAL = ("response.completed", "response.incomplete", "response.failed")
#: Rules whose break makes openai-python's ``responses.stream()`` raise (RESP-STREAM-002).
CLIENT_ORDER = ("created-first", "index-missing", "item-before-content", "part-before-content", "item-twice")
#: Rules of the complete lifecycle the description documents (RESP-STREAM-003).
LIFECYCLE = ("in-progress", "added-missing", "unclosed", "after-done", "after-terminal")


@dataclass(frozen=True, slots=True)
class Typed:
    number: int  # 1-based event number, as failure messages show it
    event: Event
    payload: dict[str, Any]

    @property
    def type(self) -> str:
        kind = self.payload.get("type")
        return kind if isinstance(kind, str) else ""

    @property
    def raw(self) -> str:
        return " | ".join(line.text for line in self.event.lines)[:400] or "(empty event)"


def typed(stream: StreamExchange) -> tuple[list[Typed], list[tuple[int, Event]]]:
    """The events whose data is a JSON object, and the others (number, event)."""
    good: list[Typed] = []
    bad: list[tuple[int, Event]] = []
    for number, event in enumerate(stream.events, start=1):
        try:
            payload = json.loads(event.data)
        except (ValueError, RecursionError):
            payload = None
        if isinstance(payload, dict):
            good.append(Typed(number, event, payload))
        else:
            bad.append((number, event))
    return good, bad


class State(StrEnum):
    NEW = "new"
    OPEN = "open"
    TEXT_DONE = "text done"  # a part whose output_text.done (or an item whose arguments.done) came
    DONE = "done"


# Items, by output_index: (state, signal) -> (next state, rule broken or None).
ITEM: dict[tuple[State, str], tuple[State, str | None]] = {
    (State.NEW, "added"): (State.OPEN, None),
    (State.NEW, "content"): (State.OPEN, "item-before-content"),
    (State.NEW, "done"): (State.DONE, "added-missing"),
    (State.OPEN, "added"): (State.OPEN, "item-twice"),
    (State.OPEN, "content"): (State.OPEN, None),
    (State.OPEN, "done"): (State.DONE, None),
    (State.DONE, "added"): (State.DONE, "item-twice"),
    (State.DONE, "content"): (State.DONE, "after-done"),
    (State.DONE, "done"): (State.DONE, "after-done"),
}
# Content parts of a message, by (output_index, content_index).
PART: dict[tuple[State, str], tuple[State, str | None]] = {
    (State.NEW, "added"): (State.OPEN, None),
    (State.NEW, "delta"): (State.OPEN, "part-before-content"),
    (State.NEW, "text-done"): (State.TEXT_DONE, "part-before-content"),
    (State.NEW, "done"): (State.DONE, "added-missing"),
    (State.OPEN, "added"): (State.OPEN, "after-done"),
    (State.OPEN, "delta"): (State.OPEN, None),
    (State.OPEN, "text-done"): (State.TEXT_DONE, None),
    (State.OPEN, "done"): (State.DONE, "unclosed"),
    (State.TEXT_DONE, "added"): (State.TEXT_DONE, "after-done"),
    (State.TEXT_DONE, "delta"): (State.TEXT_DONE, "after-done"),
    (State.TEXT_DONE, "text-done"): (State.TEXT_DONE, "after-done"),
    (State.TEXT_DONE, "done"): (State.DONE, None),
    **{(State.DONE, signal): (State.DONE, "after-done") for signal in ("added", "delta", "text-done", "done")},
}
_PART_SIGNALS = {
    "response.content_part.added": "added",
    "response.output_text.delta": "delta",
    "response.output_text.done": "text-done",
    "response.content_part.done": "done",
}
_ARGUMENT_EVENTS = ("response.function_call_arguments.delta", "response.function_call_arguments.done")


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str
    event: Typed | None
    message: str


@dataclass
class Timeline:
    """A stream read through the tables: item and part states, what the items carried, the findings."""

    events: list[Typed] = field(default_factory=list)
    items: dict[int, State] = field(default_factory=dict)
    parts: dict[tuple[int, int], State] = field(default_factory=dict)
    added: dict[int, dict[str, Any]] = field(default_factory=dict)  # the item of output_item.added
    finished: dict[int, dict[str, Any]] = field(default_factory=dict)  # the item of output_item.done
    deltas: dict[tuple[int, int], list[str]] = field(default_factory=dict)  # text deltas per part
    arguments: dict[int, list[str]] = field(default_factory=dict)  # argument deltas per item
    done_texts: dict[tuple[int, int], Any] = field(default_factory=dict)  # output_text.done text per part
    done_arguments: dict[int, Any] = field(default_factory=dict)
    terminal: Typed | None = None
    findings: dict[str, Finding] = field(default_factory=dict)

    def note(self, rule: str, event: Typed | None, message: str) -> None:
        self.findings.setdefault(rule, Finding(rule, event, message))

    def text(self, index: int = 0, content: int = 0) -> str:
        return "".join(self.deltas.get((index, content), []))

    def message_indexes(self) -> list[int]:
        return sorted(i for i, item in {**self.added, **self.finished}.items() if item.get("type") == "message")


def _index(payload: dict[str, Any], key: str) -> int | None:
    value = payload.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _item_step(line: Timeline, event: Typed, index: int, signal: str) -> None:
    before = line.items.get(index, State.NEW)
    after, broken = ITEM[(before, signal)]
    if broken:
        line.note(broken, event, f"{event.type} for output_index {index} while its item is {before.value}")
    line.items[index] = after


def _part_step(line: Timeline, event: Typed, index: int, content: int, signal: str) -> None:
    before = line.parts.get((index, content), State.NEW)
    after, broken = PART[(before, signal)]
    if broken:
        where = f"output_index {index}, content_index {content}"
        line.note(broken, event, f"{event.type} for {where} while its part is {before.value}")
    line.parts[(index, content)] = after


_INDEXED = ("response.output_item.added", "response.output_item.done", *_PART_SIGNALS, *_ARGUMENT_EVENTS)


def _read(line: Timeline, event: Typed) -> None:
    kind, payload = event.type, event.payload
    index = _index(payload, "output_index")
    if kind in _INDEXED and (index is None or (kind in _PART_SIGNALS and _index(payload, "content_index") is None)):
        missing = "output_index" if index is None else "content_index"
        line.note("index-missing", event, f"{kind} without an integer {missing}")
    if kind == "response.output_item.added" and index is not None:
        _item_step(line, event, index, "added")
        line.added.setdefault(index, payload.get("item") if isinstance(payload.get("item"), dict) else {})
    elif kind == "response.output_item.done" and index is not None:
        for (item, content), state in line.parts.items():
            if item == index and state is not State.DONE:
                line.note("unclosed", event, f"output_item.done while content part {content} is {state.value}")
        if index in line.arguments and index not in line.done_arguments:
            line.note("unclosed", event, "output_item.done without function_call_arguments.done")
        _item_step(line, event, index, "done")
        line.finished[index] = payload.get("item") if isinstance(payload.get("item"), dict) else {}
    elif kind in _PART_SIGNALS and index is not None:
        content = _index(payload, "content_index")
        _item_step(line, event, index, "content")
        if content is None:
            return
        _part_step(line, event, index, content, _PART_SIGNALS[kind])
        if kind == "response.output_text.delta" and isinstance(payload.get("delta"), str):
            line.deltas.setdefault((index, content), []).append(payload["delta"])
        if kind == "response.output_text.done":
            line.done_texts[(index, content)] = payload.get("text")
    elif kind in _ARGUMENT_EVENTS and index is not None:
        _item_step(line, event, index, "content")
        if kind.endswith(".delta") and isinstance(payload.get("delta"), str):
            line.arguments.setdefault(index, []).append(payload["delta"])
        elif kind.endswith(".done"):
            if index in line.done_arguments:
                line.note("after-done", event, f"a second function_call_arguments.done for output_index {index}")
            line.done_arguments[index] = payload.get("arguments")


def timeline(stream: StreamExchange) -> Timeline:
    """Read every typed event of a stream through the tables."""
    line = Timeline(events=typed(stream)[0])
    for position, event in enumerate(line.events):
        kind = event.type
        if position == 0 and kind != "response.created":
            line.note("created-first", event, f"the first event is {kind or '(untyped)'}, not response.created")
        if position == 1 and kind != "response.in_progress" and line.events[0].type == "response.created":
            line.note("in-progress", event, f"response.created is followed by {kind or '(untyped)'}")
        if line.terminal is not None and kind != "error":
            line.note("after-terminal", event, f"{kind} after {line.terminal.type}")
        if kind in TERMINAL and line.terminal is None:
            line.terminal = event
            for index, state in sorted(line.items.items()):
                if state is not State.DONE:
                    line.note("unclosed", event, f"{kind} while output item {index} is {state.value}")
        _read(line, event)
    return line
