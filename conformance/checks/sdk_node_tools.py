"""SDK-NODE-007..009: the pinned openai-node package as the oracle of tool calls and structured outputs
(conformance/sdk/sdk_node.mjs flows ``chat_tools``, ``chat_tools_stream`` and ``chat_parse``).

A forced call read as the function-calling guide reads it (``JSON.parse(call.function.arguments)``); the
stream helper (``client.chat.completions.stream()``, ChatCompletionStream) assembling a streamed answer
that may hold two calls, each by its own index; ``client.chat.completions.parse()`` with a plain
``json_schema`` response_format (openai-node lib/parser: ``JSON.parse`` of the content into
``message.parsed``; no zod, which is an optional peer dependency the suite does not install).
"""

from __future__ import annotations

from typing import Any

from conformance.checks.chat_stream_options import IGNORED
from conformance.checks.sdk import in_band_error
from conformance.checks.sdk_node import node_run
from conformance.core.results import NotApplicable
from conformance.engine import check
from conformance.sdk import NodeError, NodeResults, NodeSetup, SdkRun, describe, raise_for_error, wrong_value

NAME = "get_weather"


def _cut(run: SdkRun) -> None:
    """The run's own small max_tokens cut the answer: nothing to judge."""
    if isinstance(run.error, NodeError) and run.error.cls == "LengthFinishReasonError":
        raise NotApplicable("openai-node raised LengthFinishReasonError: the answer was cut by the run's max_tokens")
    if isinstance(run.value, dict) and run.value.get("finish_reason") == "length":
        raise NotApplicable("the answer was cut by the run's max_tokens")


def judge_call(run: SdkRun, call: Any, where: str) -> None:
    """A call as the client handed it over: a string id, the function's name, and arguments that are JSON
    text of an object with a string ``city`` (what the user's JSON.parse gets)."""
    if not isinstance(call, dict):
        raise wrong_value(run, f"{where} is not a tool call", expected="a tool call object", actual=repr(call)[:200])
    if not isinstance(call.get("id"), str) or not call["id"]:
        raise wrong_value(
            run, f"{where}.id is not a string", expected="a non-empty string", actual=repr(call.get("id"))
        )
    if call.get("name") != NAME:
        raise wrong_value(run, f"{where}.function.name is wrong", expected=repr(NAME), actual=repr(call.get("name")))
    if not isinstance(call.get("arguments"), str):
        raise wrong_value(
            run,
            f"{where}.function.arguments is not a string",
            expected="JSON text, as JSON.parse(call.function.arguments) expects",
            actual=repr(call.get("arguments"))[:200],
        )
    parsed = call.get("parsed")
    if call.get("parse_error") or not isinstance(parsed, dict) or not isinstance(parsed.get("city"), str):
        raise wrong_value(
            run,
            f"JSON.parse({where}.function.arguments) gives no arguments object",
            expected='an object with a string "city" (the function\'s parameters)',
            actual=call.get("parse_error") or f"{parsed!r} from {call['arguments'][:200]!r}",
        )


@check("SDK-NODE-007", needs=("chat", "tools"))
def test_node_reads_a_forced_tool_call(node_setup: NodeSetup, node_results: NodeResults) -> None:
    run = node_run(node_setup, node_results, "chat_tools")
    raise_for_error(run, expected="a ChatCompletion with the forced get_weather call")
    _cut(run)
    calls = run.value.get("calls") or []
    if not calls:
        raise NotApplicable(f"no tool call to read: the forced call was not made (see {IGNORED})", see=IGNORED)
    judge_call(run, calls[0], "message.tool_calls[0]")


@check("SDK-NODE-008", needs=("chat", "tools"))
def test_node_stream_helper_assembles_tool_calls(node_setup: NodeSetup, node_results: NodeResults) -> None:
    run = node_run(node_setup, node_results, "chat_tools_stream")
    if in_band_error(run):
        raise NotApplicable(f"the provider reported an error mid-stream ({describe(run.error)})")
    raise_for_error(run, expected="the final ChatCompletion with the streamed tool calls")
    _cut(run)
    calls = run.value.get("calls") or []
    if not calls:
        raise NotApplicable("the model answered without a tool call ('auto'): nothing for the helper to assemble")
    for position, call in enumerate(calls):
        judge_call(run, call, f"finalChatCompletion() message.tool_calls[{position}]")
    ids = [call["id"] for call in calls]
    if len(set(ids)) < len(ids):
        raise wrong_value(
            run, "the assembled tool calls share an id", expected="one id per call", actual=f"ids {ids!r}"
        )


@check("SDK-NODE-009", needs=("chat", "structured_outputs"))
def test_node_parse_reads_a_structured_output(node_setup: NodeSetup, node_results: NodeResults) -> None:
    run = node_run(node_setup, node_results, "chat_parse")
    _cut(run)
    raise_for_error(run, expected="a ParsedChatCompletion whose message.parsed is the answer object")
    parsed = run.value.get("parsed")
    if not isinstance(parsed, dict) or parsed.get("answer") not in ("yes", "no"):
        raise wrong_value(
            run,
            "message.parsed is not the answer the json_schema asks for",
            expected='{"answer": "yes"} or {"answer": "no"}',
            actual=f"parsed {parsed!r}; content {str(run.value.get('content'))[:200]!r}",
        )
