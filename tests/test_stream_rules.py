"""The stream checks on recorded byte-level SSE fixtures (tests/fixtures/sse, re-recorded with
``python -m tests.fixtures.record_sse``): no server, no network, one table.

Every legal fixture passes every check that judges a single plain stream; every faulty fixture fails
exactly the check of its rule, and the failure names the offending event and quotes its raw line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from conformance.checks import chat_stream as rules
from conformance.checks import chat_stream_options as options
from conformance.core.results import NotApplicable, Violation
from conformance.transport.exchange import StreamExchange
from conformance.transport.sse import decode

FIXTURES = Path(__file__).parent / "fixtures" / "sse"


def recorded(name: str, content_type: str = "text/event-stream; charset=utf-8") -> StreamExchange:
    raw = (FIXTURES / f"{name}.sse").read_bytes()
    exchange = StreamExchange(
        method="POST",
        url="http://127.0.0.1:8000/v1/chat/completions",
        request_headers={},
        request_body=None,
        status=200,
        headers={"content-type": content_type},
        body=raw,
    )
    exchange.decoded = decode(raw)
    exchange.eof_s = 0.0
    return exchange


# The checks that judge one plain stream on its own (timing and cross-request checks are left to the
# meta-tests, which run against a live provider).
PLAIN_RULES: dict[str, Callable[[StreamExchange], None]] = {
    "CHAT-STREAM-001": rules.test_stream_is_event_stream,
    "CHAT-STREAM-002": rules.test_stream_events_are_json_chunks,
    "CHAT-STREAM-003": rules.test_stream_is_terminated_by_done,
    "CHAT-STREAM-004": rules.test_every_event_ends_with_blank_line,
    "CHAT-STREAM-005": rules.test_nothing_follows_done,
    "CHAT-STREAM-008": rules.test_stream_true_gets_events,
    "CHAT-STREAM-010": rules.test_chunks_are_chat_completion_chunks,
    "CHAT-STREAM-011": rules.test_chunks_carry_id_created_model,
    "CHAT-STREAM-012": rules.test_chunks_share_id_and_model,
    "CHAT-STREAM-013": rules.test_chunk_choices_carry_index,
    "CHAT-STREAM-014": rules.test_chunk_choices_carry_delta,
    "CHAT-STREAM-020": rules.test_first_delta_carries_assistant_role,
    "CHAT-STREAM-021": rules.test_later_deltas_do_not_repeat_role,
    "CHAT-STREAM-022": rules.test_exactly_one_documented_finish_per_choice,
    "CHAT-STREAM-023": rules.test_nothing_after_finish,
    "CHAT-STREAM-024": rules.test_finish_reason_key_on_every_choice,
    "CHAT-STREAM-032": options.test_no_usage_chunk_unless_requested,
    "CHAT-STREAM-081": lambda stream: rules.test_in_band_errors_are_enveloped_and_end_the_stream(
        stream, stream, stream
    ),
    "CHAT-STREAM-090": rules.test_events_are_unnamed_or_message,
    "CHAT-STREAM-091": rules.test_each_event_is_one_data_line,
}
TOOL_RULES: dict[str, Callable[[StreamExchange], None]] = {
    "CHAT-STREAM-050": options.test_tool_call_deltas_carry_index,
    "CHAT-STREAM-051": options.test_first_tool_fragment_names_the_call,
    "CHAT-STREAM-052": options.test_tool_arguments_concatenate_to_json,
    "CHAT-STREAM-053": options.test_tool_call_finishes_with_tool_calls,
}

LEGAL = [
    "clean",
    "legal-crlf",
    "legal-comments",
    "legal-no-space",
    "legal-event-id-fields",
    "legal-null-optionals",
    "legal-vendor-fields",
    "legal-finish-with-last-content",
    "legal-midway-error",
]

# fixture → (the rule it breaks, the event the failure must point at)
FAULTY = {
    "no-role": ("CHAT-STREAM-020", "event #2"),
    "finish-reason-empty": ("CHAT-STREAM-022", "event #1"),
    "content-after-finish": ("CHAT-STREAM-023", "event #8"),
    "chunk-after-done": ("CHAT-STREAM-005", "event #10"),
    "no-final-blank-line": ("CHAT-STREAM-004", "line 17"),
    "non-json-event": ("CHAT-STREAM-002", "event #2"),
    "id-changes": ("CHAT-STREAM-012", "event #2"),
    "midway-error-flat": ("CHAT-STREAM-081", "event #4"),
    "named-events": ("CHAT-STREAM-090", "event #1"),
    "multiline-data": ("CHAT-STREAM-091", "event #1"),
    "tool-call-no-index": ("CHAT-STREAM-050", "event #1"),
    "tool-args-object": ("CHAT-STREAM-052", "event #1"),
}


def verdicts(stream: StreamExchange, table: dict[str, Callable[[StreamExchange], None]]) -> dict[str, Violation | None]:
    found: dict[str, Violation | None] = {}
    for rule, check in table.items():
        try:
            check(stream)
        except Violation as violation:
            found[rule] = violation
        except NotApplicable:
            found[rule] = None
        else:
            found[rule] = None
    return found


@pytest.mark.parametrize("name", LEGAL)
def test_legal_stream_passes_every_rule(name: str) -> None:
    failed = {rule: v.message for rule, v in verdicts(recorded(name), PLAIN_RULES).items() if v is not None}
    assert not failed


def test_legal_tool_stream_passes_every_tool_rule() -> None:
    failed = {rule: v.message for rule, v in verdicts(recorded("clean-tools"), TOOL_RULES).items() if v is not None}
    assert not failed


@pytest.mark.parametrize("name", sorted(FAULTY))
def test_faulty_stream_fails_exactly_its_rule(name: str) -> None:
    rule, _ = FAULTY[name]
    table = TOOL_RULES if rule in TOOL_RULES else PLAIN_RULES
    failed = {r for r, v in verdicts(recorded(name), table).items() if v is not None}
    assert failed == {rule}


@pytest.mark.parametrize("name", sorted(FAULTY))
def test_failure_names_the_event_and_quotes_it(name: str) -> None:
    rule, pointer = FAULTY[name]
    table = TOOL_RULES if rule in TOOL_RULES else PLAIN_RULES
    violation = verdicts(recorded(name), table)[rule]
    assert violation is not None
    assert violation.pointer == pointer
    assert violation.actual
    assert "data" in violation.actual or "event" in violation.actual


@pytest.mark.parametrize(
    "content_type", ["text/event-stream", "text/event-stream; charset=utf-8", "Text/Event-Stream;Charset=UTF-8"]
)
def test_content_type_parameters_and_case_are_legal(content_type: str) -> None:
    rules.test_stream_is_event_stream(recorded("clean", content_type))


@pytest.mark.parametrize("content_type", ["application/json", "text/plain", ""])
def test_other_content_types_fail(content_type: str) -> None:
    with pytest.raises(Violation, match="not text/event-stream"):
        rules.test_stream_is_event_stream(recorded("clean", content_type))


@pytest.mark.parametrize("piece", [1, 3, 7, 64])
def test_bytes_arriving_a_few_at_a_time_decode_the_same(piece: int) -> None:
    raw = (FIXTURES / "legal-crlf.sse").read_bytes()
    whole = decode(raw)
    dribbled = decode(raw[i : i + piece] for i in range(0, len(raw), piece))
    assert [e.data for e in dribbled.events] == [e.data for e in whole.events]
