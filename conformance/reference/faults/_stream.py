"""Helpers the stream faults and variations share: they work on the list of stream items (dict chunks,
then the string "[DONE]").

Most stream faults apply only to the *plain* streamed request (no stream_options, tools, n, logprobs or
response_format) so that one fault breaks one rule: the suite's other stream probes stay clean.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from ..sse import DONE

__all__ = [
    "DONE",
    "break_midway",
    "choices",
    "chunk_after_done",
    "chunks",
    "content_positions",
    "each_choice",
    "id_changes",
    "plain",
    "plain_only",
]


def plain(request: Any) -> bool:
    """The suite's plain streamed chat request: no stream_options, tools, n > 1, logprobs or response_format."""
    return (
        isinstance(request, dict)
        and not request.get("stream_options")
        and not request.get("tools")
        and not request.get("response_format")
        and request.get("n") in (None, 1)
        and not request.get("logprobs")
    )


def chunks(value: list[Any]) -> list[dict[str, Any]]:
    return [item for item in value if isinstance(item, dict)]


def choices(chunk: dict[str, Any]) -> list[dict[str, Any]]:
    return [c for c in chunk.get("choices", []) if isinstance(c, dict)]


def each_choice(value: list[Any], change: Any) -> list[Any]:
    """Apply ``change(choice)`` (in place, on a deep copy) to every choice of every chunk."""
    items = copy.deepcopy(value)
    for chunk in chunks(items):
        for choice in choices(chunk):
            change(choice)
    return items


def content_positions(value: list[Any]) -> list[int]:
    return [
        i
        for i, item in enumerate(value)
        if isinstance(item, dict) and any((c.get("delta") or {}).get("content") for c in choices(item))
    ]


def plain_only(function: Any) -> Any:
    @functools.wraps(function)  # explain and --list-faults locate the fault at its own definition
    def apply(value: Any, *, request: Any = None, **ctx: Any) -> Any:
        return function(value, request=request, **ctx) if plain(request) else value

    return apply


def break_midway(value: list[Any], error: Any, *, done: bool) -> list[Any]:
    positions = content_positions(value)
    if len(positions) < 2:
        return value
    cut = positions[1] + 1
    return [*value[:cut], {"error": error}, *([DONE] if done else [])]


# Fault functions registered twice, for the chat stream and the completion stream.


def chunk_after_done(value: list[Any], **_: Any) -> list[Any]:
    found = chunks(value)
    return [*value, copy.deepcopy(found[-1])] if found else value


def id_changes(value: list[Any], **_: Any) -> list[Any]:
    return [{**item, "id": f"{item.get('id')}-{n}"} if isinstance(item, dict) else item for n, item in enumerate(value)]
