"""Server-sent-event framing for the reference streams."""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Sequence
from typing import Any, Final, TypeVar

__all__ = ["DONE", "encode_event", "interleave", "new_id", "now"]

T = TypeVar("T")

#: The terminal stream item; serialised as ``data: [DONE]``.
DONE: Final = "[DONE]"


def encode_event(item: Any) -> bytes:
    """One SSE event, including its terminating blank line: ``data: <compact JSON>\\n\\n``."""
    data = item if isinstance(item, str) else json.dumps(item, separators=(",", ":"), ensure_ascii=False)
    return f"data: {data}\n\n".encode()


def interleave(sequences: Sequence[Sequence[T]]) -> list[T]:
    """Round-robin merge: first item of each sequence, then the second of each, ..."""
    longest = max((len(sequence) for sequence in sequences), default=0)
    return [sequence[i] for i in range(longest) for sequence in sequences if i < len(sequence)]


def new_id(prefix: str) -> str:
    """``<prefix>-<24 hex>``, e.g. ``chatcmpl-0f3a...``."""
    return f"{prefix}-{secrets.token_hex(12)}"


def now() -> int:
    return int(time.time())
