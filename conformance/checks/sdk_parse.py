"""SDK-PY-013, SDK-PY-014: openai-python's ``client.chat.completions.parse()`` as the oracle of tool loops
and structured outputs.

parse() validates what the provider sent (openai-python lib/_parsing/_completions.py): the arguments of a
call to a strict function tool with ``model_parse_json`` (a dict, a double-encoded string or arguments
that miss a required field raise a pydantic ValidationError), the content of a ``response_format`` model
the same way, and it raises LengthFinishReasonError for any ``finish_reason`` "length". A refusal of the
second turn of a tool loop, once the first was served with a call, is no decline of tools: the loop
broke.
"""

from __future__ import annotations

from typing import Any

import openai

from conformance.checks.chat_stream_options import IGNORED
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.probes.sdk_parse import Answer, GetWeather
from conformance.sdk import (
    SdkOutcome,
    SdkRun,
    describe,
    details,
    exception_name,
    raise_for_error,
    raise_for_limits,
    read,
    wrong_value,
)


def cut_by_our_limit(run: SdkRun) -> None:
    if isinstance(run.error, openai.LengthFinishReasonError):
        raise NotApplicable("parse() raised LengthFinishReasonError: the answer was cut by the run's max_tokens")


def raise_for_second_turn(run: SdkRun, second: Any, expected: str, turn: str) -> None:
    """A second turn (the answer to a tool call) that raised: the run's limits, our own error (ERROR), or the
    client's exception as a violation -- the first turn was served with the call, so it is no decline."""
    if not isinstance(second, BaseException):
        return
    raise_for_limits(run, second, expected)
    if not isinstance(second, openai.OpenAIError):
        raise second  # our own code broke: ERROR
    raise Violation(
        f"{run.client}: {turn} raised {exception_name(second)}",
        expected=f"{expected} (the first turn was served with the call: this is no decline)",
        actual=describe(second),
        detail=details(second),
        evidence=run.evidence,
    )


def judge_second_turn(run: SdkRun, second: Any) -> None:
    expected = "a ChatCompletion answering the tool result"
    raise_for_second_turn(run, second, expected, "the turn that answers the tool call")
    message = read(run, second, ".choices[0].message")
    content, calls = read(run, message, ".content"), read(run, message, ".tool_calls")
    if not ((isinstance(content, str) and content) or calls):
        raise wrong_value(
            run,
            "the turn that answers the tool call brought no answer",
            expected="message.content text (or further tool calls)",
            actual=f"content {content!r}, tool_calls {calls!r}",
        )


@check("SDK-PY-013", needs=("chat", "tools"))
def test_python_parse_runs_a_tool_loop(sdk_tool_loop: SdkOutcome) -> None:
    run = sdk_tool_loop.plain
    cut_by_our_limit(run)
    raise_for_error(run, expected="a ParsedChatCompletion with the forced call and its parsed_arguments")
    first, second = run.value
    calls = read(run, first, ".choices[0].message.tool_calls")
    if not calls:
        raise NotApplicable(f"no tool call for parse() to parse (see {IGNORED})", see=IGNORED)
    parsed = read(run, calls[0], ".function.parsed_arguments")
    if not isinstance(parsed, GetWeather):
        raise wrong_value(
            run,
            "parse() gave no parsed_arguments for the call",
            expected="a GetWeather instance (the call names the tool parse() was given)",
            actual=f"{read(run, calls[0], '.function.name')!r}: {parsed!r}",
        )
    judge_second_turn(run, second)


@check("SDK-PY-014", needs=("chat", "structured_outputs"))
def test_python_parse_reads_a_structured_output(sdk_parse_format: SdkOutcome) -> None:
    run = sdk_parse_format.plain
    cut_by_our_limit(run)
    raise_for_error(run, expected="a ParsedChatCompletion whose message.parsed is an Answer")
    message = read(run, run.value, ".choices[0].message")
    parsed, refusal = read(run, message, ".parsed"), read(run, message, ".refusal")
    if parsed is None and isinstance(refusal, str) and refusal:
        raise NotApplicable(f"the model refused ({refusal[:80]!r}): nothing to parse")
    if not isinstance(parsed, Answer):
        raise wrong_value(
            run,
            "parse() gave no parsed Answer",
            expected='message.parsed == Answer(answer="yes" or "no")',
            actual=f"parsed {parsed!r}; content {read(run, message, '.content')!r}",
        )
