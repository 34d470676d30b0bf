"""Does an answer reproduce a recorded one? Pure functions over two evidence items (report.json's shape).

Compared, in order: the status (or, with no status, the kind of transport failure), our own cap or
deadline cutting the answer, the media type, for an event stream its shape (whether it ends with
``data: [DONE]``, the ``object`` of its first event), and for a JSON body the key fields (``object``,
``error.type``, ``error.code``). What varies by nature -- ids, timestamps, generated text -- is not.
A field the recorded excerpt cannot tell (a body cut at the excerpt's length) is not compared.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final

Evidence = dict[str, Any]
_UNKNOWN: Final = object()  # the recorded evidence cannot tell: not compared


@dataclass(frozen=True)
class Verdict:
    reproduced: bool
    differences: tuple[str, ...]
    answer: str  # the new answer in a word: "500", "no answer (timeout)"

    def text(self) -> str:
        if self.reproduced:
            return f"reproduced: {self.answer}"
        return "not reproduced: " + "; ".join(self.differences)


def answer(item: Evidence) -> str:
    """The answer in a word: its status, or the kind of failure when there was none ("no answer (timeout)")."""
    if item.get("status") is not None:
        return str(item["status"])
    kind = _error_kind(item)
    return f"no answer ({kind})" if kind else "no answer"


def _error_kind(item: Evidence) -> str | None:
    error = item.get("error")
    return str(error).split(":", 1)[0] if error else None


def _media_type(item: Evidence) -> Any:
    headers = {k.lower(): v for k, v in (item.get("response_headers") or {}).items()}
    if item.get("status") is None:
        return _UNKNOWN
    value = headers.get("content-type")
    return value.split(";", 1)[0].strip().lower() if value else None


def _cut(item: Evidence) -> Any:
    if "body_truncated" not in item:  # a report before schema 1.2
        return _UNKNOWN
    return "cut at our size cap" if item["body_truncated"] else "read whole"


def _stream_events(item: Evidence) -> list[str] | None:
    lines = item.get("sse_lines") or []
    if not lines:
        return None
    events = []
    for line in lines:
        if line.startswith("data:"):
            data = line[5:]
            events.append(data[1:] if data.startswith(" ") else data)
    return events


def _stream_end(item: Evidence) -> Any:
    events = _stream_events(item)
    if events is None:
        return _UNKNOWN
    return "ends with [DONE]" if "[DONE]" in events else "no [DONE]"


def _json(item: Evidence) -> Any:
    """The body as JSON (the first event's, for a stream); _UNKNOWN when the excerpt cannot tell."""
    events = _stream_events(item)
    if events is not None:
        text = next((event for event in events if event != "[DONE]"), None)
    else:
        text = item.get("body_excerpt")
        size = item.get("body_bytes")
        if text is None or (text.endswith("…") and (size is None or size > len(text.encode()))):
            return _UNKNOWN
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


def _field(path: str) -> Callable[[Evidence], Any]:
    def read(item: Evidence) -> Any:
        value = _json(item)
        if value is _UNKNOWN:
            return _UNKNOWN
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return value

    return read


# (what is compared, how to read it from an evidence item)
FIELDS: Final[tuple[tuple[str, Callable[[Evidence], Any]], ...]] = (
    ("status", answer),
    ("body", _cut),
    ("content-type", _media_type),
    ("stream", _stream_end),
    ("object", _field("object")),
    ("error.type", _field("error.type")),
    ("error.code", _field("error.code")),
)


def compare(recorded: Evidence, now: Evidence) -> Verdict:
    differences = []
    for label, read in FIELDS:
        old = read(recorded)
        if old is _UNKNOWN:
            continue
        new = read(now)
        new = None if new is _UNKNOWN else new
        if old == new:
            continue
        if label == "status":  # another status is the difference; what follows from it is not news
            differences.append(f"recorded {old}, now {new}")
            break
        differences.append(f"recorded {label} {_shown(old)}, now {_shown(new)}")
    return Verdict(not differences, tuple(differences), answer(now))


def _shown(value: Any) -> str:
    return "none" if value is None else str(value)
