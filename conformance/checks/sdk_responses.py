"""SDK-PY-015..018, SDK-NODE-006: openai-python's and openai-node's Responses API as the oracle
(openai-python resources/responses/responses.py, types/responses/response.py ``output_text``,
lib/streaming/responses/_responses.py, lib/_parsing/_responses.py; openai-node lib/responses/ResponseStream.js).

``output_text`` is what users read; the stream helper raises when events come out of the order it
accumulates (RuntimeError) and builds the final response from ``response.completed``; ``parse()`` with a
strict function tool ``json.loads`` the arguments, and with a ``text_format`` model it parses each
``output_text`` with ``model_parse_json`` (prose or a document off the schema raises ValidationError). A
refusal of the second turn of the tool loop, once the first was served with a call, is no decline.
"""

from __future__ import annotations

from typing import Any

from conformance.checks.sdk import in_band_error
from conformance.checks.sdk_node import node_run
from conformance.checks.sdk_parse import raise_for_second_turn
from conformance.core.results import NotApplicable
from conformance.engine import check
from conformance.probes.sdk_parse import Answer
from conformance.sdk import (
    NodeResults,
    NodeSetup,
    SdkOutcome,
    SdkRun,
    raise_for_error,
    read,
    wrong_value,
)

STATUSES = ("completed", "incomplete", "failed", "in_progress", "queued", "cancelled")


@check("SDK-PY-015", needs="responses")
def test_python_responses_create(sdk_responses_create: SdkOutcome) -> None:
    run = sdk_responses_create.plain
    raise_for_error(run, expected="a Response whose output_text is the reply")
    text, status = read(run, run.value, ".output_text"), read(run, run.value, ".status")
    if not isinstance(text, str) or not text or status not in STATUSES:
        raise wrong_value(
            run,
            "responses.create() gave no reply in output_text",
            expected=f"output_text non-empty, status one of {', '.join(STATUSES)}",
            actual=f"output_text {text!r}, status {status!r}",
        )


def _stream_error(run: SdkRun) -> None:
    if in_band_error(run):
        raise NotApplicable("the provider reported an error in the stream (see RESP-STREAM-008)", see="RESP-STREAM-008")


@check("SDK-PY-016", needs="responses")
def test_python_responses_stream(sdk_responses_stream: SdkOutcome) -> None:
    run = sdk_responses_stream.plain
    _stream_error(run)
    raise_for_error(run, expected="the stream iterated to the end and a final response with the streamed text")
    joined, final = run.value
    text = read(run, final, ".output_text")
    if not joined or text != joined:
        raise wrong_value(
            run,
            "the stream helper's final response does not hold the streamed reply",
            expected=f"get_final_response().output_text == the joined deltas {joined[:80]!r}",
            actual=f"output_text {text!r}",
        )


def _second_turn(run: SdkRun, second: Any) -> None:
    expected = "a Response answering the function_call_output"
    raise_for_second_turn(run, second, expected, "the turn that sends the function_call_output")
    output = read(run, second, ".output")
    if not output:
        raise wrong_value(
            run,
            "the turn that sends the function_call_output got no reply",
            expected="output with a message or further calls",
            actual=f"output {output!r}",
        )


@check("SDK-PY-017", needs="responses")
def test_python_responses_tool_loop(sdk_responses_tool_loop: SdkOutcome) -> None:
    run = sdk_responses_tool_loop.plain
    raise_for_error(run, expected="a ParsedResponse with the forced function_call and its parsed_arguments")
    first, second = run.value
    if second is None:
        raise NotApplicable("no function_call for parse() to parse (see RESP-TOOL-001)", see="RESP-TOOL-001")
    calls = [item for item in read(run, first, ".output") if getattr(item, "type", None) == "function_call"]
    parsed = read(run, calls[0], ".parsed_arguments")
    if not isinstance(parsed, dict):
        raise wrong_value(
            run,
            "parse() gave no parsed_arguments for the call",
            expected="a dict (the arguments of the strict tool, parsed)",
            actual=repr(parsed),
        )
    _second_turn(run, second)


@check("SDK-PY-018", needs="responses")
def test_python_responses_parse(sdk_responses_parse: SdkOutcome) -> None:
    run = sdk_responses_parse.plain
    raise_for_error(run, expected="a ParsedResponse whose output_parsed is an Answer")
    status, parsed = read(run, run.value, ".status"), read(run, run.value, ".output_parsed")
    if status == "incomplete":
        raise NotApplicable("the answer was cut by max_output_tokens: nothing to parse")
    if parsed is None and _refused(run):
        raise NotApplicable("the model refused: nothing to parse")
    if not isinstance(parsed, Answer):
        raise wrong_value(
            run,
            "responses.parse() gave no parsed Answer",
            expected='output_parsed == Answer(answer="yes" or "no")',
            actual=f"output_parsed {parsed!r}; output_text {read(run, run.value, '.output_text')!r}",
        )


def _refused(run: SdkRun) -> bool:
    output = read(run, run.value, ".output") or []
    parts = [part for item in output for part in (getattr(item, "content", None) or [])]
    return any(getattr(part, "type", None) == "refusal" for part in parts)


@check("SDK-NODE-006", needs="responses")
def test_node_responses_stream(node_setup: NodeSetup, node_results: NodeResults) -> None:
    run = node_run(node_setup, node_results, "responses_stream")
    _stream_error(run)
    raise_for_error(run, expected="the stream iterated to the end and a final response with the streamed text")
    value = run.value if isinstance(run.value, dict) else {}
    deltas, text = value.get("deltas"), value.get("output_text")
    if not deltas or text != deltas:
        raise wrong_value(
            run,
            "the stream helper's final response does not hold the streamed reply",
            expected=f"finalResponse().output_text == the joined deltas {str(deltas)[:80]!r}",
            actual=f"output_text {text!r}",
        )
