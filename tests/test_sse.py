"""Tests for conformance.transport.sse: tables of byte fixtures, one edge case per row."""

from __future__ import annotations

import itertools

import pytest

from conformance.transport.sse import (
    BOM,
    COMMENT,
    CR_LINE_END,
    CRLF_LINE_END,
    EMPTY_DATA_EVENT,
    EVENT_WITHOUT_DATA,
    ID_WITH_NUL,
    INVALID_RETRY,
    INVALID_UTF8,
    MIXED_LINE_ENDS,
    NO_SPACE_AFTER_COLON,
    NOTICE_KINDS,
    UNKNOWN_FIELD,
    UNTERMINATED_EVENT,
    DecodeResult,
    Event,
    Line,
    Notice,
    SSEDecoder,
    decode,
)

EventTuple = tuple[str, str | None, str | None, int | None]


def summary(events: tuple[Event, ...] | list[Event]) -> list[EventTuple]:
    return [(e.data, e.event, e.id, e.retry) for e in events]


def kinds(result: DecodeResult) -> list[str]:
    return [n.kind for n in result.notices]


def line_view(lines: tuple[Line, ...] | list[Line]) -> list[tuple[int, str, str, int]]:
    return [(ln.number, ln.text, ln.ending, ln.offset) for ln in lines]


def split_decode(data: bytes, *cuts: int) -> DecodeResult:
    bounds = [0, *cuts, len(data)]
    return decode([data[a:b] for a, b in itertools.pairwise(bounds)])


# ---------------------------------------------------------------------------------------------
# Typical stream
# ---------------------------------------------------------------------------------------------

OPENAI_LIKE = b'data: {"a":1}\n\ndata: [DONE]\n\n'


def test_openai_like_stream_gives_two_events() -> None:
    assert summary(decode(OPENAI_LIKE).events) == [('{"a":1}', None, None, None), ("[DONE]", None, None, None)]


def test_openai_like_stream_has_no_notices() -> None:
    assert decode(OPENAI_LIKE).notices == ()


def test_openai_like_stream_events_are_terminated_and_indexed() -> None:
    events = decode(OPENAI_LIKE).events
    assert [(e.index, e.terminated, e.type) for e in events] == [(0, True, "message"), (1, True, "message")]


# ---------------------------------------------------------------------------------------------
# Line endings
# ---------------------------------------------------------------------------------------------

TEMPLATE = b"event: a{E}data: 1{E}data: 2{E}{E}: c{E}id: 9{E}data: 3{E}{E}"
TEMPLATE_EVENTS = [("1\n2", "a", None, None), ("3", None, "9", None)]


@pytest.mark.parametrize(
    ("ending", "expected_kinds"),
    [
        (b"\n", [COMMENT]),
        (b"\r", [CR_LINE_END, COMMENT]),
        (b"\r\n", [CRLF_LINE_END, COMMENT]),
    ],
    ids=["LF", "CR", "CRLF"],
)
def test_line_endings_give_same_events(ending: bytes, expected_kinds: list[str]) -> None:
    result = decode(TEMPLATE.replace(b"{E}", ending))
    assert summary(result.events) == TEMPLATE_EVENTS
    assert kinds(result) == expected_kinds
    assert {ln.ending for ln in result.lines} == {ending.decode()}


@pytest.mark.parametrize(
    ("data", "first_kinds"),
    [
        (b"data: a\n\r\n", [CRLF_LINE_END, MIXED_LINE_ENDS]),
        (b"data: a\r\n\n", [CRLF_LINE_END, MIXED_LINE_ENDS]),
        (b"data: a\r\n\r", [CRLF_LINE_END, CR_LINE_END, MIXED_LINE_ENDS]),
        (b"data: a\n\r", [CR_LINE_END, MIXED_LINE_ENDS]),
        (b"data: a\r\n\rdata: b\n\n", [CRLF_LINE_END, CR_LINE_END, MIXED_LINE_ENDS]),
    ],
)
def test_mixed_line_endings(data: bytes, first_kinds: list[str]) -> None:
    result = decode(data)
    assert kinds(result) == first_kinds
    assert summary(result.events)[0] == ("a", None, None, None)


def test_line_ending_notices_are_once_per_stream() -> None:
    result = decode(b"data: a\r\rdata: b\r\r\n\n\r\n\n")
    assert kinds(result) == [CR_LINE_END, CRLF_LINE_END, MIXED_LINE_ENDS]


def test_line_ending_notices_name_first_line() -> None:
    result = decode(b"data: a\n\ndata: b\r\n\r\n")
    assert [(n.kind, n.line) for n in result.notices] == [(CRLF_LINE_END, 3), (MIXED_LINE_ENDS, 3)]


@pytest.mark.parametrize(
    "chunks",
    [
        [b"data: a\r", b"\n\r\n"],
        [b"data: a\r", b"\n\r", b"\n"],
        [b"data: a\r", b"", b"\n\r", b"", b"\n"],
    ],
    ids=["two-chunks", "three-chunks", "with-empty-chunks"],
)
def test_cr_then_lf_in_next_chunk_is_one_line_end(chunks: list[bytes]) -> None:
    result = decode(chunks)
    assert summary(result.events) == [("a", None, None, None)]
    assert line_view(result.lines) == [(1, "data: a", "\r\n", 0), (2, "", "\r\n", 9)]
    assert kinds(result) == [CRLF_LINE_END]


def test_split_crlf_fixes_line_inside_event_evidence() -> None:
    event = decode([b"data: a\r", b"\n\r\n"]).events[0]
    assert [ln.ending for ln in event.lines] == ["\r\n"]


def test_cr_then_other_byte_in_next_chunk_is_cr() -> None:
    result = decode([b"data: a\r", b"\rdata: b\r\r"])
    assert summary(result.events) == [("a", None, None, None), ("b", None, None, None)]
    assert kinds(result) == [CR_LINE_END]


def test_cr_at_end_of_stream_ends_line() -> None:
    result = decode(b"data: a\r\r")
    assert summary(result.events) == [("a", None, None, None)]
    assert [e.terminated for e in result.events] == [True]
    assert line_view(result.lines) == [(1, "data: a", "\r", 0), (2, "", "\r", 8)]


def test_blank_cr_line_dispatches_without_waiting_for_next_chunk() -> None:
    decoder = SSEDecoder()
    assert summary(decoder.feed(b"data: a\r\r")) == [("a", None, None, None)]


def test_line_numbers_and_offsets() -> None:
    result = decode(b"data: \xc3\xa9\r\n: c\n\rid\n")
    assert line_view(result.lines) == [
        (1, "data: é", "\r\n", 0),
        (2, ": c", "\n", 10),
        (3, "", "\r", 14),
        (4, "id", "\n", 15),
    ]


# ---------------------------------------------------------------------------------------------
# Chunk boundaries: every split point gives identical results
# ---------------------------------------------------------------------------------------------

SPLIT_STREAM = (
    "\ufeffretry: 1500\r\n"
    ": keep-alive\r\n"
    "event: greet\r\n"
    "id: 1\r\n"
    "data: caf\u00e9\r\n"
    "data:  two\r\n"
    "data\r\n"
    "\r\n"
    "data: \U0001f600 end\r"
    "\n"
    "\r\n"
    "data: tail"
).encode()


def decoded_view(result: DecodeResult) -> tuple[object, ...]:
    events = [(e.data, e.event, e.id, e.retry, e.terminated, [ln.number for ln in e.lines]) for e in result.events]
    return events, line_view(result.lines), result.notices


# Lone CRs whose lines also produce notices (order of notices must not depend on chunking).
CR_STREAM = b"data:x\rfoo\r\r: c\r\nid: \x00\rdata: \xc3\xa9\xff\r\n\revent: e\r\rdata\r"
SPLIT_STREAMS = {"crlf-bom-utf8": SPLIT_STREAM, "cr-notices": CR_STREAM}
WHOLE = decode(SPLIT_STREAM)


def test_split_stream_reference_decoding() -> None:
    assert summary(WHOLE.events) == [
        ("caf\u00e9\n two\n", "greet", "1", 1500),
        ("\U0001f600 end", None, None, None),
        ("tail", None, None, None),
    ]
    assert [e.terminated for e in WHOLE.events] == [True, True, False]
    assert kinds(WHOLE) == [BOM, CRLF_LINE_END, COMMENT, UNTERMINATED_EVENT]


def test_cr_stream_reference_decoding() -> None:
    result = decode(CR_STREAM)
    assert [(e.data, e.terminated) for e in result.events] == [("x", True), ("\u00e9\ufffd", True), ("", False)]
    assert [(n.kind, n.line) for n in result.notices] == [
        (NO_SPACE_AFTER_COLON, 1),
        (CR_LINE_END, 1),
        (UNKNOWN_FIELD, 2),
        (COMMENT, 4),
        (CRLF_LINE_END, 4),
        (MIXED_LINE_ENDS, 4),
        (ID_WITH_NUL, 5),
        (INVALID_UTF8, 6),
        (EVENT_WITHOUT_DATA, 9),
        (UNTERMINATED_EVENT, 10),
        (EMPTY_DATA_EVENT, 10),
    ]


SPLIT_CASES = [(name, cut) for name, data in SPLIT_STREAMS.items() for cut in range(len(data) + 1)]


@pytest.mark.parametrize(("name", "cut"), SPLIT_CASES, ids=[f"{name}-{cut}" for name, cut in SPLIT_CASES])
def test_every_two_chunk_split_matches_whole(name: str, cut: int) -> None:
    data = SPLIT_STREAMS[name]
    assert decoded_view(split_decode(data, cut)) == decoded_view(decode(data))


@pytest.mark.parametrize("name", SPLIT_STREAMS)
def test_one_byte_at_a_time_matches_whole(name: str) -> None:
    data = SPLIT_STREAMS[name]
    chunks = [data[i : i + 1] for i in range(len(data))]
    assert decoded_view(decode(chunks)) == decoded_view(decode(data))


@pytest.mark.parametrize("name", SPLIT_STREAMS)
def test_feed_returns_events_as_they_complete(name: str) -> None:
    data = SPLIT_STREAMS[name]
    decoder = SSEDecoder()
    got = [summary(decoder.feed(data[i : i + 1])) for i in range(len(data))]
    got.append(summary(decoder.close()))
    assert [g for g in got if g] == [[row] for row in summary(decode(data).events)]


@pytest.mark.parametrize(
    "data",
    [
        b"data: \xff\xfe\n\n",
        b"data: \xe2\x82\ndata: \xe2\x82\xac\n\n",
        b"data: \xf0\x9f\x98\rx\xc3",
        b"\xef\xbb\xbfdata: \xed\xa0\x80\r\n\r\n",
        "data: caf\u00e9 \U0001f600\n\n".encode(),
    ],
)
def test_line_texts_equal_whole_stream_utf8_decoding(data: bytes) -> None:
    expected = data.decode("utf-8", errors="replace").removeprefix("\ufeff")
    for chunks in ([data], [data[i : i + 1] for i in range(len(data))]):
        result = decode(chunks)
        assert "".join(ln.text + ln.ending for ln in result.lines) == expected


# ---------------------------------------------------------------------------------------------
# Field parsing
# ---------------------------------------------------------------------------------------------

FIELD_CASES = [
    ("multi-line data", b"data: a\ndata: b\ndata: c\n\n", [("a\nb\nc", None, None, None)]),
    ("no space equals space", b"data:x\n\n", [("x", None, None, None)]),
    ("one space removed", b"data: x\n\n", [("x", None, None, None)]),
    ("only one space removed", b"data:  x\n\n", [(" x", None, None, None)]),
    ("tab is not removed", b"data:\tx\n\n", [("\tx", None, None, None)]),
    ("trailing space kept", b"data: x \n\n", [("x ", None, None, None)]),
    ("value keeps later colons", b"data: a:b: c\n\n", [("a:b: c", None, None, None)]),
    ("bare data is a data field", b"data\n\n", [("", None, None, None)]),
    ("bare data adds a line", b"data\ndata: x\n\n", [("\nx", None, None, None)]),
    ("empty data lines", b"data:\ndata:\n\n", [("\n", None, None, None)]),
    ("event type", b"event: message\ndata: x\n\n", [("x", "message", None, None)]),
    ("last event field wins", b"event: a\nevent: b\ndata: x\n\n", [("x", "b", None, None)]),
    ("empty event field", b"event:\ndata: x\n\n", [("x", "", None, None)]),
    ("id", b"id: 7\ndata: x\n\n", [("x", None, "7", None)]),
    ("empty id", b"id\ndata: x\n\n", [("x", None, "", None)]),
    ("retry", b"retry: 3000\ndata: x\n\n", [("x", None, None, 3000)]),
    ("retry without space", b"retry:0\ndata: x\n\n", [("x", None, None, 0)]),
    ("invalid retry ignored", b"retry: 3s\ndata: x\n\n", [("x", None, None, None)]),
    ("invalid retry keeps earlier", b"retry: 5\nretry: x\ndata: x\n\n", [("x", None, None, 5)]),
    ("id with NUL ignored", b"id: 1\x002\ndata: x\n\n", [("x", None, None, None)]),
    ("id with NUL keeps earlier", b"id: 1\nid: \x00\ndata: x\n\n", [("x", None, "1", None)]),
    ("field names are case-sensitive", b"Data: x\ndata: y\n\n", [("y", None, None, None)]),
    ("space before colon is part of name", b"data : x\ndata: y\n\n", [("y", None, None, None)]),
    ("event type resets", b"event: a\ndata: 1\n\ndata: 2\n\n", [("1", "a", None, None), ("2", None, None, None)]),
    ("id not repeated", b"id: 1\ndata: 1\n\ndata: 2\n\n", [("1", None, "1", None), ("2", None, None, None)]),
    ("comment ignored for data", b": keep-alive\ndata: x\n: more\n\n", [("x", None, None, None)]),
    ("colon-only comment", b":\ndata: x\n\n", [("x", None, None, None)]),
    ("unknown field ignored", b"foo: bar\ndata: x\n\n", [("x", None, None, None)]),
    ("leading blank lines", b"\n\n\ndata: x\n\n", [("x", None, None, None)]),
    ("extra blank lines", b"data: 1\n\n\n\ndata: 2\n\n", [("1", None, None, None), ("2", None, None, None)]),
    ("BOM not at start is data", b"data: \xef\xbb\xbfx\n\n", [("\ufeffx", None, None, None)]),
    ("NUL in data kept", b"data: a\x00b\n\n", [("a\x00b", None, None, None)]),
    ("empty stream", b"", []),
]


@pytest.mark.parametrize(("data", "expected"), [c[1:] for c in FIELD_CASES], ids=[c[0] for c in FIELD_CASES])
def test_field_parsing(data: bytes, expected: list[EventTuple]) -> None:
    assert summary(decode(data).events) == expected


def test_event_type_property() -> None:
    assert [e.type for e in decode(b"data: 1\n\nevent: ping\ndata: 2\n\nevent:\ndata: 3\n\n").events] == [
        "message",
        "ping",
        "message",
    ]


def test_last_event_id_persists_across_events() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"id: 5\ndata: 1\n\ndata: 2\n\nid: 6\n\n")
    assert decoder.last_event_id == "6"


def test_comment_is_kept_as_event_evidence() -> None:
    event = decode(b": keep-alive\ndata: x\nfoo: bar\n\n").events[0]
    assert [ln.text for ln in event.lines] == [": keep-alive", "data: x", "foo: bar"]


def test_dispatching_blank_line_is_not_event_evidence() -> None:
    event = decode(b"data: x\n\n").events[0]
    assert [ln.number for ln in event.lines] == [1]


# ---------------------------------------------------------------------------------------------
# Notices
# ---------------------------------------------------------------------------------------------

NOTICE_CASES = [
    ("leading BOM", b"\xef\xbb\xbfdata: x\n\n", [(BOM, 1)]),
    ("only one BOM stripped", b"\xef\xbb\xbf\xef\xbb\xbfdata: x\n\n", [(BOM, 1), (UNKNOWN_FIELD, 1)]),
    ("BOM not at start", b"data: \xef\xbb\xbfx\n\n", []),
    ("comment", b": keep-alive\ndata: x\n\n", [(COMMENT, 1)]),
    ("comment per line", b": a\n: b\n\n", [(COMMENT, 1), (COMMENT, 2)]),
    ("no space after colon", b"data:x\n\n", [(NO_SPACE_AFTER_COLON, 1)]),
    ("no space after colon once", b"data:x\nevent:y\n\n", [(NO_SPACE_AFTER_COLON, 1)]),
    ("empty value is not no-space", b"data:\n\n", [(EMPTY_DATA_EVENT, 2)]),
    ("unknown field", b"foo: bar\ndata: x\n\n", [(UNKNOWN_FIELD, 1)]),
    ("bare line without colon", b"hello\ndata: x\n\n", [(UNKNOWN_FIELD, 1)]),
    ("unknown field per line", b"a\nb\ndata: x\n\n", [(UNKNOWN_FIELD, 1), (UNKNOWN_FIELD, 2)]),
    ("invalid retry", b"retry: 3s\ndata: x\n\n", [(INVALID_RETRY, 1)]),
    ("negative retry", b"retry: -1\ndata: x\n\n", [(INVALID_RETRY, 1)]),
    ("empty retry", b"retry:\ndata: x\n\n", [(INVALID_RETRY, 1)]),
    ("non-ASCII digits retry", "retry: \u0661\u0662\ndata: x\n\n".encode(), [(INVALID_RETRY, 1)]),
    ("id with NUL", b"id: a\x00\ndata: x\n\n", [(ID_WITH_NUL, 1)]),
    ("invalid UTF-8", b"data: \xff\xfe\n\n", [(INVALID_UTF8, 1)]),
    ("invalid UTF-8 per line", b"data: \xff\ndata: \xc3\n\n", [(INVALID_UTF8, 1), (INVALID_UTF8, 2)]),
    ("truncated UTF-8 at EOF", b"data: x\n\n\xc3", [(INVALID_UTF8, 3), (UNKNOWN_FIELD, 3), (UNTERMINATED_EVENT, 3)]),
    ("event without data", b"event: ping\n\n", [(EVENT_WITHOUT_DATA, 2)]),
    ("id without data", b"id: 1\n\n", [(EVENT_WITHOUT_DATA, 2)]),
    ("retry without data", b"retry: 10\n\n", [(EVENT_WITHOUT_DATA, 2)]),
    ("comment-only block is not an event", b": ping\n\n", [(COMMENT, 1)]),
    ("unknown-only block is not an event", b"foo\n\n", [(UNKNOWN_FIELD, 1)]),
    ("empty data event", b"data:\n\n", [(EMPTY_DATA_EVENT, 2)]),
    ("bare data empty event", b"data\n\n", [(EMPTY_DATA_EVENT, 2)]),
    ("unterminated with LF", b"data: x\n", [(UNTERMINATED_EVENT, 1)]),
    ("unterminated without LF", b"data: x", [(UNTERMINATED_EVENT, 1)]),
    ("unterminated after event", b"data: a\n\ndata: b", [(UNTERMINATED_EVENT, 3)]),
    ("unterminated field without data", b"event: x\n", [(UNTERMINATED_EVENT, 1)]),
    ("cut-off comment at EOF", b"data: a\n\n: ping", [(COMMENT, 3), (UNTERMINATED_EVENT, 3)]),
    ("terminated comment at EOF", b"data: a\n\n: ping\n", [(COMMENT, 3)]),
    ("trailing blank lines fine", b"data: a\n\n\n\n", []),
    ("BOM only", b"\xef\xbb\xbf", [(BOM, 1)]),
]


@pytest.mark.parametrize(("data", "expected"), [c[1:] for c in NOTICE_CASES], ids=[c[0] for c in NOTICE_CASES])
def test_notices(data: bytes, expected: list[tuple[str, int]]) -> None:
    assert [(n.kind, n.line) for n in decode(data).notices] == expected


def test_bom_is_stripped_from_text() -> None:
    result = decode(b"\xef\xbb\xbfdata: x\n\n")
    assert (result.lines[0].text, result.events[0].data) == ("data: x", "x")


def test_bom_split_across_chunks() -> None:
    result = decode([b"\xef", b"\xbb", b"\xbfdata: x\n\n"])
    assert (kinds(result), summary(result.events)) == ([BOM], [("x", None, None, None)])


def test_invalid_utf8_replaced_in_data() -> None:
    assert decode(b"data: \xff\xfe\n\n").events[0].data == "\ufffd\ufffd"


def test_event_without_data_dispatches_nothing() -> None:
    assert decode(b"event: ping\n\n").events == ()


def test_event_without_data_does_not_leak_into_next_event() -> None:
    assert summary(decode(b"event: ping\nid: 1\n\ndata: x\n\n").events) == [("x", None, None, None)]


def test_empty_data_event_is_dispatched() -> None:
    assert summary(decode(b"data:\n\n").events) == [("", None, None, None)]


def test_notice_detail_is_truncated() -> None:
    notice = decode(b": " + b"x" * 1000 + b"\n").notices[0]
    assert (notice.kind, len(notice.detail) <= 200) == (COMMENT, True)


def test_notice_detail_shows_line() -> None:
    assert decode(b"foo: bar\n").notices[0].detail == repr("foo: bar")


def test_notice_kinds_are_complete_and_unique() -> None:
    assert len(set(NOTICE_KINDS)) == len(NOTICE_KINDS) == 13
    assert all(isinstance(k, str) and k for k in NOTICE_KINDS)


# ---------------------------------------------------------------------------------------------
# End of stream
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("data", [b"data: x", b"data: x\n", b"data: x\r", b"data: x\r\n", b": c\ndata: x"])
def test_unterminated_event_returned_by_close(data: bytes) -> None:
    decoder = SSEDecoder()
    assert decoder.feed(data) == []
    closed = decoder.close()
    assert [(e.data, e.terminated) for e in closed] == [("x", False)]
    assert decoder.notices[-1].kind == UNTERMINATED_EVENT


def test_unterminated_event_lines_include_final_cut_off_line() -> None:
    event = decode(b"data: a\ndata: b").events[0]
    assert [(ln.text, ln.ending) for ln in event.lines] == [("data: a", "\n"), ("data: b", "")]


def test_close_twice_returns_nothing() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: x")
    assert len(decoder.close()) == 1
    assert decoder.close() == []


def test_feed_after_close_raises() -> None:
    decoder = SSEDecoder()
    decoder.close()
    with pytest.raises(RuntimeError):
        decoder.feed(b"data: x\n\n")


def test_feed_rejects_str() -> None:
    with pytest.raises(TypeError):
        SSEDecoder().feed("data: x\n\n")  # type: ignore[arg-type]


def test_events_property_includes_close_events() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: 1\n\ndata: 2")
    decoder.close()
    assert [(e.index, e.data, e.terminated) for e in decoder.events] == [(0, "1", True), (1, "2", False)]


def test_bytes_seen() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: \xc3")
    decoder.feed(b"\xa9\r")
    decoder.feed(b"")
    assert decoder.bytes_seen == 9


# ---------------------------------------------------------------------------------------------
# Arrival times
# ---------------------------------------------------------------------------------------------


def test_times_recorded_on_lines_and_events() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a", at=1.0)
    decoder.feed(b"\ndata: b\n", at=2.0)
    decoder.feed(b"\n", at=3.0)
    decoder.feed(b"data: c", at=4.0)
    decoder.close(at=5.0)
    expected_lines = [("data: a", 2.0), ("data: b", 2.0), ("", 3.0), ("data: c", 5.0)]
    assert [(ln.text, ln.time) for ln in decoder.lines] == expected_lines
    assert [(e.data, e.time) for e in decoder.events] == [("a\nb", 3.0), ("c", 5.0)]


def test_time_of_split_crlf_is_the_cr_chunk() -> None:
    decoder = SSEDecoder()
    decoder.feed(b"data: a\r\n\r", at=1.0)
    decoder.feed(b"\n", at=2.0)
    assert [(e.data, e.time) for e in decoder.events] == [("a", 1.0)]
    assert [ln.time for ln in decoder.lines] == [1.0, 1.0]


def test_time_defaults_to_none() -> None:
    result = decode(b"data: a\n\n")
    assert (result.lines[0].time, result.events[0].time) == (None, None)


# ---------------------------------------------------------------------------------------------
# decode() and the data types
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        OPENAI_LIKE,
        bytearray(OPENAI_LIKE),
        [OPENAI_LIKE],
        [OPENAI_LIKE[:5], OPENAI_LIKE[5:]],
        (OPENAI_LIKE[i : i + 3] for i in range(0, len(OPENAI_LIKE), 3)),
        iter([]),
    ],
    ids=["bytes", "bytearray", "list", "two-chunks", "generator", "empty-iterable"],
)
def test_decode_accepts_bytes_or_chunks(data: bytes | list[bytes]) -> None:
    result = decode(data)
    assert isinstance(result, DecodeResult)
    assert [type(part) for part in (result.events, result.notices, result.lines)] == [tuple, tuple, tuple]
    if result.events:
        assert [e.data for e in result.events] == ['{"a":1}', "[DONE]"]


def test_dataclasses_are_frozen() -> None:
    line = Line(number=1, text="", ending="\n", offset=0, time=None)
    notice = Notice(kind=COMMENT, line=1, detail="")
    for obj in (line, notice):
        # FrozenInstanceError (an AttributeError); CPython 3.11 raises TypeError for frozen+slots classes.
        with pytest.raises((AttributeError, TypeError)):
            obj.line = 2  # type: ignore[misc,union-attr]
