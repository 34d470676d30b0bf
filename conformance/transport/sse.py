"""Strict, incremental decoder for the WHATWG ``text/event-stream`` format.

Reference: https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation

The decoder follows the specification's interpretation algorithm, but instead of
silently tolerating unusual input it records a :class:`Notice` for everything a
strict checker may want to judge.  It knows nothing about any particular API
(no ``[DONE]``, no JSON).

Deliberate deviations from a browser ``EventSource``, all of them additive:

* An event that is pending when the stream ends is *returned* by :meth:`SSEDecoder.close`
  with ``terminated=False`` (the spec discards it) and an ``UNTERMINATED_EVENT`` notice.
* ``Event.id`` reports only the id set by the event's own lines; the spec's
  "last event ID buffer" (which persists across events) is :attr:`SSEDecoder.last_event_id`.

Lines are split on bytes, then each complete line is decoded as UTF-8.  CR and LF
are ASCII and can never occur inside a multi-byte UTF-8 sequence, so this gives
exactly the same text as decoding the whole stream at once (a multi-byte character
split across ``feed()`` calls simply waits in the line buffer), while keeping exact
byte offsets for every line.

A line that ends in a CR at the very end of a chunk is processed at once (so that
a dispatching blank line is not delayed until more bytes arrive) and first
reported with ``ending="\\r"``; when the next chunk starts with LF the two count as
one CRLF, the :class:`Line` is replaced by one with ``ending="\\r\\n"`` and the
line-ending notices are recorded then.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

__all__ = [
    "BOM",
    "COMMENT",
    "CRLF_LINE_END",
    "CR_LINE_END",
    "EMPTY_DATA_EVENT",
    "EVENT_WITHOUT_DATA",
    "ID_WITH_NUL",
    "INVALID_RETRY",
    "INVALID_UTF8",
    "MIXED_LINE_ENDS",
    "NOTICE_KINDS",
    "NO_SPACE_AFTER_COLON",
    "UNKNOWN_FIELD",
    "UNTERMINATED_EVENT",
    "DecodeResult",
    "Event",
    "Line",
    "Notice",
    "SSEDecoder",
    "decode",
]

BOM = "BOM"
CR_LINE_END = "CR_LINE_END"
CRLF_LINE_END = "CRLF_LINE_END"
MIXED_LINE_ENDS = "MIXED_LINE_ENDS"
COMMENT = "COMMENT"
NO_SPACE_AFTER_COLON = "NO_SPACE_AFTER_COLON"
UNKNOWN_FIELD = "UNKNOWN_FIELD"
INVALID_RETRY = "INVALID_RETRY"
ID_WITH_NUL = "ID_WITH_NUL"
INVALID_UTF8 = "INVALID_UTF8"
EVENT_WITHOUT_DATA = "EVENT_WITHOUT_DATA"
UNTERMINATED_EVENT = "UNTERMINATED_EVENT"
EMPTY_DATA_EVENT = "EMPTY_DATA_EVENT"

NOTICE_KINDS: tuple[str, ...] = (
    BOM,  # a leading U+FEFF was stripped (once, line 1)
    CR_LINE_END,  # a line ended by a lone CR; once per stream, first occurrence
    CRLF_LINE_END,  # a line ended by CRLF; once per stream, first occurrence
    MIXED_LINE_ENDS,  # a second kind of line ending appeared; once per stream
    COMMENT,  # a line starting with ":"; one per line
    NO_SPACE_AFTER_COLON,  # a field whose non-empty value does not start with a space; once per stream
    UNKNOWN_FIELD,  # a field name other than event/data/id/retry (incl. a line without a colon); one per line
    INVALID_RETRY,  # a retry value that is not only ASCII digits (ignored); one per line
    ID_WITH_NUL,  # an id value containing U+0000 (ignored); one per line
    INVALID_UTF8,  # a line with bytes that are not valid UTF-8 (replaced by U+FFFD); one per line
    EVENT_WITHOUT_DATA,  # a blank line ended a block with event/id/retry fields but no data field (nothing dispatched)
    UNTERMINATED_EVENT,  # the stream ended inside an event, before its dispatching blank line
    EMPTY_DATA_EVENT,  # an event was dispatched whose data is the empty string
)

_ONCE_PER_STREAM = frozenset({BOM, CR_LINE_END, CRLF_LINE_END, MIXED_LINE_ENDS, NO_SPACE_AFTER_COLON})

_EOL = re.compile(rb"\r\n|\r|\n")
_ENDING_NAMES = {"\n": "LF", "\r": "CR", "\r\n": "CRLF"}
_ENDING_NOTICES = {"\r": CR_LINE_END, "\r\n": CRLF_LINE_END}
_DETAIL_LIMIT = 200


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the stream, as split by the spec's line-ending rules."""

    number: int  # 1-based line number in the stream
    text: str  # decoded line without its terminator (and without a leading BOM on line 1)
    ending: str  # "\n", "\r", "\r\n", or "" for a final line cut off at EOF
    offset: int  # byte offset of the line start in the stream
    time: float | None  # arrival time of the chunk that completed this line


@dataclass(frozen=True, slots=True)
class Event:
    """One dispatched event, with the lines that produced it as evidence."""

    index: int  # 0-based order of dispatch
    data: str  # data buffer, lines joined with "\n" (final LF removed, per spec)
    event: str | None  # value of the last `event:` field, None if no event field
    id: str | None  # id set by this event's own lines, None if it had no (valid) id field
    retry: int | None  # value of the last valid retry field of this event
    lines: tuple[Line, ...]  # every non-blank line of the event (fields, comments, unknown fields), in order
    terminated: bool  # True when dispatched by a blank line, False when produced by close()
    time: float | None  # arrival time of the chunk that completed the event

    @property
    def type(self) -> str:
        # "Initialize event's type attribute to "message" [...] If the event type buffer has a value
        # other than the empty string, change the type of the newly created event to equal the value
        # of the event type buffer."
        return self.event or "message"


@dataclass(frozen=True, slots=True)
class Notice:
    """Something notable (legal or not) that the decoder saw."""

    kind: str  # one of NOTICE_KINDS
    line: int  # line number it concerns (0 for stream-level)
    detail: str  # short human text, at most 200 characters


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """Everything :func:`decode` learned about a complete stream."""

    events: tuple[Event, ...]
    notices: tuple[Notice, ...]
    lines: tuple[Line, ...]


@dataclass(slots=True)
class _Block:
    """The buffers of the event being built (mutable, private)."""

    lines: list[Line] = field(default_factory=list)
    data: list[str] = field(default_factory=list)  # data field values; the spec's buffer is "\n".join + "\n"
    event: str | None = None
    id: str | None = None
    retry: int | None = None
    has_field: bool = False  # saw an event/id/retry field (valid or not)

    def pending(self) -> bool:
        """True when EOF here would cut an event short (anything but properly ended comments)."""
        if self.data:
            return True
        return any(not line.text.startswith(":") or line.ending == "" for line in self.lines)


def _excerpt(value: str | bytes) -> str:
    text = repr(value)
    if len(text) <= _DETAIL_LIMIT:
        return text
    return text[: _DETAIL_LIMIT - 3] + "..."


def _decode_utf8(raw: bytes) -> tuple[str, bool]:
    """Decode one complete line; returns (text, was_valid)."""
    try:
        return raw.decode("utf-8"), True
    except UnicodeDecodeError:
        # The spec decodes with "UTF-8 decode", which replaces errors with U+FFFD.
        return raw.decode("utf-8", errors="replace"), False


def _split_field(text: str) -> tuple[str, str, bool]:
    """Split a non-blank, non-comment line into (field, value, no_space_after_colon)."""
    name, colon, value = text.partition(":")
    if not colon:
        # "Otherwise, the string is not empty but does not contain a U+003A COLON character (:)
        # -> Process the field using the steps described below, using the whole line as the field
        # name, and the empty string as the field value."
        return text, "", False
    # "Collect the characters on the line before the first U+003A COLON character (:), and let field
    # be that string. Collect the characters on the line after the first U+003A COLON character (:),
    # and let value be that string. If value starts with a U+0020 SPACE character, remove it from value."
    if value.startswith(" "):
        return name, value[1:], False
    return name, value, value != ""


def _is_ascii_digits(value: str) -> bool:
    return value != "" and value.isascii() and value.isdigit()


class SSEDecoder:
    """Incremental ``text/event-stream`` decoder: ``feed()`` bytes, then ``close()``."""

    def __init__(self) -> None:
        self._buf = bytearray()  # bytes of the current, not yet terminated line
        self._line_start = 0  # byte offset where the current line starts
        self._line_no = 0
        self._after_cr = False  # the previous chunk ended in a CR: an LF next is part of that line end
        self._bytes_seen = 0
        self._closed = False
        self._endings: list[str] = []  # kinds of line endings seen, in order of first appearance
        self._block = _Block()
        self._last_event_id = ""
        self._lines: list[Line] = []
        self._events: list[Event] = []
        self._notices: list[Notice] = []
        self._noticed: set[str] = set()

    # -- public API ---------------------------------------------------------------------------

    @property
    def notices(self) -> list[Notice]:
        return list(self._notices)

    @property
    def lines(self) -> list[Line]:
        return list(self._lines)

    @property
    def events(self) -> list[Event]:
        return list(self._events)

    @property
    def bytes_seen(self) -> int:
        return self._bytes_seen

    @property
    def last_event_id(self) -> str:
        """The spec's "last event ID buffer" (persists across events; "" until an id is set)."""
        return self._last_event_id

    @property
    def closed(self) -> bool:
        return self._closed

    def feed(self, chunk: bytes, at: float | None = None) -> list[Event]:
        """Consume the next chunk (split anywhere) and return the events it dispatched."""
        if self._closed:
            raise RuntimeError("feed() called after close()")
        if isinstance(chunk, str):
            raise TypeError("feed() takes bytes, not str")
        chunk = bytes(chunk)
        base = self._bytes_seen
        self._bytes_seen += len(chunk)
        pos = 0
        if self._after_cr and chunk:
            # "a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character pair" is one line ending,
            # even when the pair is split between two chunks.
            pos = 1 if chunk[0] == 0x0A else 0
            self._resolve_cr(lf=pos == 1)
        events: list[Event] = []
        for match in _EOL.finditer(chunk, pos):
            self._buf += chunk[pos : match.start()]
            pos = match.end()
            ending = match.group().decode("ascii")
            tentative = ending == "\r" and pos == len(chunk)
            events += self._end_line(ending, at, next_start=base + pos, note_ending=not tentative)
            self._after_cr = tentative
        self._buf += chunk[pos:]
        return events

    def close(self, at: float | None = None) -> list[Event]:
        """Signal end of stream; returns a pending, unterminated event if there was one."""
        if self._closed:
            return []
        self._closed = True
        if self._after_cr:
            # A CR at the very end of the stream ends a line (already processed) on its own.
            self._resolve_cr(lf=False)
        if self._buf:
            # The final line has no terminator at all; it is still processed as a line (ending "").
            self._end_line("", at, next_start=self._bytes_seen, note_ending=False)
        return self._finish_block(at)

    # -- line splitting -------------------------------------------------------------------------

    def _end_line(self, ending: str, at: float | None, next_start: int, note_ending: bool) -> list[Event]:
        raw = bytes(self._buf)
        self._buf.clear()
        line = self._make_line(raw, ending, at)
        self._line_start = next_start
        if ending == "" and line.text == "":
            # Only a BOM was left at EOF: there is no line content to interpret.
            return []
        events = self._process_line(line)
        # Ending notices always come after the line's own notices, so that their order does not
        # depend on whether a CR happened to be the last byte of a chunk.
        if note_ending:
            self._note_ending(line)
        return events

    def _make_line(self, raw: bytes, ending: str, at: float | None) -> Line:
        self._line_no += 1
        text, valid = _decode_utf8(raw)
        if not valid:
            self._notice(INVALID_UTF8, self._line_no, _excerpt(raw))
        if self._line_no == 1 and text.startswith("\ufeff"):
            # "One leading U+FEFF BYTE ORDER MARK character must be ignored if any are present."
            text = text[1:]
            self._notice(BOM, 1, "leading U+FEFF stripped")
        line = Line(number=self._line_no, text=text, ending=ending, offset=self._line_start, time=at)
        self._lines.append(line)
        return line

    def _resolve_cr(self, lf: bool) -> None:
        """Settle the ending of the last line, which was ended by a CR at the end of a chunk."""
        self._after_cr = False
        line = self._lines[-1]
        if lf:
            fixed = replace(line, ending="\r\n")
            self._lines[-1] = fixed
            if self._block.lines and self._block.lines[-1] is line:
                self._block.lines[-1] = fixed
            self._line_start += 1
            line = fixed
        self._note_ending(line)

    def _note_ending(self, line: Line) -> None:
        # "Lines must be separated by either a U+000D CARRIAGE RETURN U+000A LINE FEED (CRLF) character
        # pair, a single U+000A LINE FEED (LF) character, or a single U+000D CARRIAGE RETURN (CR) character."
        if line.ending in self._endings:
            return
        self._endings.append(line.ending)
        kind = _ENDING_NOTICES.get(line.ending)
        if kind is not None:
            self._notice(kind, line.number, f"first line ended by {_ENDING_NAMES[line.ending]}")
        if len(self._endings) == 2:
            names = ", ".join(_ENDING_NAMES[e] for e in self._endings)
            self._notice(MIXED_LINE_ENDS, line.number, f"line endings {names} in one stream")

    # -- interpretation -----------------------------------------------------------------------

    def _process_line(self, line: Line) -> list[Event]:
        # "If the line is empty (a blank line) -> Dispatch the event, as defined below."
        if line.text == "":
            event = self._dispatch(line)
            return [] if event is None else [event]
        self._block.lines.append(line)
        # "If the line starts with a U+003A COLON character (:) -> Ignore the line."
        if line.text.startswith(":"):
            self._notice(COMMENT, line.number, _excerpt(line.text))
            return []
        name, value, no_space = _split_field(line.text)
        if no_space:
            self._notice(NO_SPACE_AFTER_COLON, line.number, _excerpt(line.text))
        self._process_field(name, value, line)
        return []

    def _process_field(self, name: str, value: str, line: Line) -> None:
        block = self._block
        if name == "event":
            # "If the field name is "event" -> Set the event type buffer to field value."
            block.event = value
            block.has_field = True
        elif name == "data":
            # "If the field name is "data" -> Append the field value to the data buffer, then append a
            # single U+000A LINE FEED (LF) character to the data buffer."
            block.data.append(value)
        elif name == "id":
            self._process_id(value, line)
        elif name == "retry":
            self._process_retry(value, line)
        else:
            # "Otherwise -> The field is ignored."
            self._notice(UNKNOWN_FIELD, line.number, _excerpt(line.text))

    def _process_id(self, value: str, line: Line) -> None:
        self._block.has_field = True
        # "If the field name is "id" -> If the field value does not contain U+0000 NULL, then set the
        # last event ID buffer to the field value. Otherwise, ignore the field."
        if "\x00" in value:
            self._notice(ID_WITH_NUL, line.number, _excerpt(line.text))
            return
        self._last_event_id = value
        self._block.id = value

    def _process_retry(self, value: str, line: Line) -> None:
        self._block.has_field = True
        # "If the field name is "retry" -> If the field value consists of only ASCII digits, then
        # interpret the field value as an integer in base ten, and set the event stream's reconnection
        # time to that integer. Otherwise, ignore the field."
        if not _is_ascii_digits(value):
            self._notice(INVALID_RETRY, line.number, _excerpt(line.text))
            return
        try:
            self._block.retry = int(value)
        except ValueError:  # more digits than int() accepts (sys.get_int_max_str_digits)
            self._notice(INVALID_RETRY, line.number, f"retry value with {len(value)} digits not representable")

    def _dispatch(self, blank: Line) -> Event | None:
        block, self._block = self._block, _Block()
        # "If the data buffer is an empty string, set the data buffer and the event type buffer to the
        # empty string and return."
        if not block.data:
            if block.has_field:
                self._notice(EVENT_WITHOUT_DATA, blank.number, "blank line after event/id/retry fields but no data")
            return None
        return self._make_event(block, terminated=True, line_no=blank.number, at=blank.time)

    def _finish_block(self, at: float | None) -> list[Event]:
        # "If the file ends in the middle of an event, before the final empty line, the incomplete event
        # is not dispatched." -- we return it anyway (terminated=False) so a checker can judge it.
        block, self._block = self._block, _Block()
        if not block.pending():
            return []
        last = block.lines[-1].number
        if not block.data:
            self._notice(UNTERMINATED_EVENT, last, "stream ended inside an event without data (nothing returned)")
            return []
        self._notice(UNTERMINATED_EVENT, last, "stream ended before the blank line that dispatches the event")
        return [self._make_event(block, terminated=False, line_no=last, at=at)]

    def _make_event(self, block: _Block, terminated: bool, line_no: int, at: float | None) -> Event:
        # "If the data buffer's last character is a U+000A LINE FEED (LF) character, then remove the last
        # character from the data buffer." -- joining the values with "\n" is exactly that.
        data = "\n".join(block.data)
        if data == "":
            self._notice(EMPTY_DATA_EVENT, line_no, "event dispatched with empty data")
        event = Event(
            index=len(self._events),
            data=data,
            event=block.event,
            id=block.id,
            retry=block.retry,
            lines=tuple(block.lines),
            terminated=terminated,
            time=at,
        )
        self._events.append(event)
        return event

    def _notice(self, kind: str, line: int, detail: str) -> None:
        if kind in _ONCE_PER_STREAM:
            if kind in self._noticed:
                return
            self._noticed.add(kind)
        self._notices.append(Notice(kind=kind, line=line, detail=detail[:_DETAIL_LIMIT]))


def decode(data: bytes | Iterable[bytes]) -> DecodeResult:
    """Decode a complete stream given as bytes or as an iterable of byte chunks."""
    decoder = SSEDecoder()
    chunks: Iterable[bytes] = (data,) if isinstance(data, (bytes, bytearray, memoryview)) else data
    for chunk in chunks:
        decoder.feed(chunk)
    decoder.close()
    return DecodeResult(
        events=tuple(decoder.events),
        notices=tuple(decoder.notices),
        lines=tuple(decoder.lines),
    )
