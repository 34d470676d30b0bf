"""What an OpenAI stream means: events classified as chunks, errors or the sentinel, and the per-choice
ordering rules written as a transition table.

``sse.py`` decodes the wire format and knows nothing of OpenAI; this module reads its events the way
openai-python's ``Stream.__stream__`` does: ``data: [DONE]`` ends the stream, every other event's data
is JSON, and a JSON object with a truthy top-level ``error`` is an in-band error.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from conformance.transport.exchange import StreamExchange
from conformance.transport.sse import Event

DONE = "[DONE]"
CHAT_FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "function_call")
COMPLETION_FINISH_REASONS = ("stop", "length", "content_filter")


class Kind(StrEnum):
    CHUNK = "chunk"  # a JSON object without a top-level "error"
    ERROR = "error"  # a JSON object with a truthy top-level "error" (an in-band error)
    DONE = "done"  # data: [DONE]
    INVALID = "invalid"  # anything else: not JSON, or JSON that is not an object


@dataclass(frozen=True, slots=True)
class Item:
    number: int  # 1-based event number, as shown in failure messages
    event: Event
    kind: Kind
    payload: Any = None

    @property
    def raw(self) -> str:
        """The event's lines as received, for evidence: ``data: {...} | data: ...``."""
        return " | ".join(line.text for line in self.event.lines)[:400] or "(empty event)"

    @property
    def chunk(self) -> dict[str, Any]:
        return self.payload if isinstance(self.payload, dict) else {}


def classify(event: Event, number: int) -> Item:
    if event.data == DONE:
        return Item(number, event, Kind.DONE)
    try:
        payload = json.loads(event.data)
    except (ValueError, RecursionError):  # a JSON bomb (deep nesting) is not JSON a client can use
        return Item(number, event, Kind.INVALID, event.data)
    if not isinstance(payload, dict):
        return Item(number, event, Kind.INVALID, payload)
    if payload.get("error"):
        return Item(number, event, Kind.ERROR, payload)
    return Item(number, event, Kind.CHUNK, payload)


def items(stream: StreamExchange) -> list[Item]:
    return [classify(event, number) for number, event in enumerate(stream.events, start=1)]


def chunks(stream: StreamExchange) -> list[Item]:
    """The JSON chunks before the first ``[DONE]`` (what a client acts on); errors are not chunks."""
    found = []
    for item in items(stream):
        if item.kind is Kind.DONE:
            break
        if item.kind is Kind.CHUNK:
            found.append(item)
    return found


def errors(stream: StreamExchange) -> list[Item]:
    return [item for item in items(stream) if item.kind is Kind.ERROR]


def choices_of(item: Item) -> list[dict[str, Any]]:
    value = item.chunk.get("choices")
    return [c for c in value if isinstance(c, dict)] if isinstance(value, list) else []


def content_text(stream: StreamExchange, index: int = 0, key: str = "content") -> str:
    """The concatenated ``delta.content`` (chat) or ``text`` (completions, key="text") of one choice."""
    parts = []
    for item in chunks(stream):
        for choice in choices_of(item):
            # Read like a plain client does (choices[0] without looking at index): that is what the
            # text of a single-choice stream amounts to for users.
            if choice.get("index", 0) != index:
                continue
            source = choice.get("delta") if key == "content" else choice
            value = source.get(key) if isinstance(source, dict) else None
            if isinstance(value, str):
                parts.append(value)
    return "".join(parts)


# -- ordering: one transition table per choice ---------------------------------------------------------
#
# "the first delta of each choice carries role: assistant and later ones do not; content follows;
# exactly one chunk per choice carries a non-null finish_reason; no content after the finish"
# (openai-python's ChatCompletionStreamState accumulates by choice.index in exactly this order).
#
# Signals are read from each choice of each chunk, in this order: ROLE, CONTENT, FINISH.


class State(StrEnum):
    NEW = "new"
    OPEN = "open"
    FINISHED = "finished"


class Signal(StrEnum):
    ROLE = "role"
    CONTENT = "content"
    FINISH = "finish"


# (state, signal) -> (next state, the rule broken or None)
TRANSITIONS: dict[tuple[State, Signal], tuple[State, str | None]] = {
    (State.NEW, Signal.ROLE): (State.OPEN, None),
    (State.NEW, Signal.CONTENT): (State.OPEN, "role-first"),
    (State.NEW, Signal.FINISH): (State.FINISHED, "role-first"),
    (State.OPEN, Signal.ROLE): (State.OPEN, "role-once"),
    (State.OPEN, Signal.CONTENT): (State.OPEN, None),
    (State.OPEN, Signal.FINISH): (State.FINISHED, None),
    (State.FINISHED, Signal.ROLE): (State.FINISHED, "after-finish"),
    (State.FINISHED, Signal.CONTENT): (State.FINISHED, "after-finish"),
    (State.FINISHED, Signal.FINISH): (State.FINISHED, "one-finish"),
}


@dataclass(frozen=True, slots=True)
class Finding:
    rule: str  # "role-first", "role-once", "one-finish", "after-finish", "finish-value"
    choice: int
    item: Item | None
    message: str


@dataclass
class Timeline:
    """The state of every choice index after reading a stream, and the first finding per rule."""

    states: dict[int, State] = field(default_factory=dict)
    roles: dict[int, int] = field(default_factory=dict)
    findings: dict[str, Finding] = field(default_factory=dict)

    def note(self, finding: Finding) -> None:
        self.findings.setdefault(finding.rule, finding)


def tool_call_fragments(stream: StreamExchange) -> list[Any]:
    """Every ``delta.tool_calls`` entry of every chunk, in order."""
    return [
        call
        for item in chunks(stream)
        for choice in choices_of(item)
        for call in ((choice.get("delta") if isinstance(choice.get("delta"), dict) else {}).get("tool_calls") or [])
    ]


def forced_call_ignored(stream: StreamExchange | None) -> bool:
    """Whether a streamed forced tool call was served (2xx, with chunks) without any tool call: the finding
    of CHAT-STREAM-054. Other requests forcing the same call are then not judged on whether the model
    happened to call the tool anyway: on a provider that ignores ``tool_choice`` that is the model's coin
    toss, and a verdict must not depend on it."""
    if stream is None or not 200 <= (stream.status or 0) < 300:
        return False
    return bool(chunks(stream)) and not tool_call_fragments(stream)


def _has_content(delta: dict[str, Any]) -> bool:
    return any(delta.get(key) not in (None, "", []) for key in ("content", "tool_calls", "refusal", "function_call"))


def _signals(choice: dict[str, Any], *, chat: bool, finish_reasons: tuple[str, ...]) -> list[tuple[Signal, str | None]]:
    """The signals in one choice, each with a problem with its value (or None)."""
    found: list[tuple[Signal, str | None]] = []
    if chat:
        delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
        if "role" in delta and delta["role"] is not None:
            found.append((Signal.ROLE, None if delta["role"] == "assistant" else f"role is {delta['role']!r}"))
        if _has_content(delta):
            found.append((Signal.CONTENT, None))
    elif isinstance(choice.get("text"), str) and choice["text"]:
        found.append((Signal.CONTENT, None))
    reason = choice.get("finish_reason")
    if reason is not None:
        if reason in finish_reasons:
            found.append((Signal.FINISH, None))
        else:
            found.append((Signal.FINISH, f"finish_reason {reason!r} is not one of {', '.join(finish_reasons)}"))
    return found


def timeline(stream: StreamExchange, *, chat: bool = True) -> Timeline:
    """Run every choice of every chunk through the transition table."""
    finish_reasons = CHAT_FINISH_REASONS if chat else COMPLETION_FINISH_REASONS
    result = Timeline()
    for item in chunks(stream):
        for choice in choices_of(item):
            index = choice.get("index")
            if not isinstance(index, int) or isinstance(index, bool):
                continue  # CHAT-STREAM-013's verdict
            if chat and not isinstance(choice.get("delta"), dict):
                continue  # CHAT-STREAM-014's verdict
            state = result.states.get(index, State.NEW)
            if not chat and state is State.NEW:
                state = State.OPEN  # completions have no role delta: a choice opens with its first text
            for signal, problem in _signals(choice, chat=chat, finish_reasons=finish_reasons):
                if problem is not None:
                    rule = "role-value" if signal is Signal.ROLE else "finish-value"
                    result.note(Finding(rule, index, item, problem))
                    if signal is Signal.FINISH:
                        continue  # an undocumented value does not count as the finish
                if signal is Signal.ROLE:
                    result.roles[index] = result.roles.get(index, 0) + 1
                before = state
                state, broken = TRANSITIONS[(state, signal)]
                if broken is not None:
                    result.note(
                        Finding(broken, index, item, f"choice {index}: {signal.value} while {_state_text(before)}")
                    )
            result.states[index] = state
    if not errors(stream):
        # After an in-band error the stream legitimately ends without a finish_reason.
        for index, state in sorted(result.states.items()):
            if state is not State.FINISHED:
                result.note(Finding("one-finish", index, None, f"choice {index} never received a finish_reason"))
    return result


def _state_text(state: State) -> str:
    return {State.NEW: "no role yet", State.OPEN: "open", State.FINISHED: "already finished"}[state]
