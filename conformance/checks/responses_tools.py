"""RESP-TOOL-001, -002, -004: function calling with the Responses API (OpenAPI FunctionToolCall,
ToolChoiceFunction, FunctionCallOutputItemParam; openai-python lib/_parsing/_responses.py).

A forced function tool must yield a ``function_call`` item whose ``call_id``, ``name`` and string
``arguments`` an agent can use; the turn that sends the call and its output back must be answered. A 4xx
with the error envelope to the forced request declines function calling (UNSUPPORTED).
"""

from __future__ import annotations

from typing import Any

from conformance import expect
from conformance.checks.chat_tools import arguments_problem
from conformance.checks.responses import served
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.transport.exchange import Exchange

FORCED = "RESP-TOOL-001"
NAME = "get_weather"


def calls_of(body: dict[str, Any]) -> list[Any]:
    output = body.get("output") if isinstance(body.get("output"), list) else []
    return [item for item in output if isinstance(item, dict) and item.get("type") == "function_call"]


@check(FORCED, needs="responses")
def test_forced_function_call(responses_tool: Exchange) -> None:
    body = served(responses_tool, "a forced function tool")
    if not calls_of(body):
        raise Violation(
            "A forced function tool was answered without a function_call item",
            pointer="/output",
            expected=f'a {{"type": "function_call", "name": "{NAME}"}} item (tool_choice names it), or a 4xx declining',
            actual=expect.short(body.get("output")),
            evidence=responses_tool,
        )


def call_problem(call: dict[str, Any]) -> str | None:
    """Why a function_call item is not one an agent can run, or None."""
    if not isinstance(call.get("call_id"), str) or not call["call_id"]:
        return "call_id is not a non-empty string"
    if call.get("name") != NAME:
        return f"name is not one of the tools ({NAME})"
    if not isinstance(call.get("arguments"), str):
        return "arguments is not a string (JSON text)"
    problem = arguments_problem(call["arguments"], NAME)
    return f"arguments are {problem}" if problem else None


@check("RESP-TOOL-002", needs="responses")
def test_function_call_fields(responses_tool: Exchange) -> None:
    body = served(responses_tool, "a forced function tool", owner=FORCED)
    calls = calls_of(body)
    if not calls:
        raise NotApplicable(f"no function_call to judge (see {FORCED})", see=FORCED)
    for position, call in enumerate(calls):
        problem = call_problem(call)
        if problem and body.get("status") == "incomplete":
            raise NotApplicable("the call was cut by max_output_tokens")
        if problem:
            raise Violation(
                f"A function_call item is not usable: {problem}",
                pointer=f"/output/{position}",
                expected='{"type": "function_call", "call_id": str, "name": "get_weather", "arguments": '
                '"{\\"city\\": ...}"}',
                actual=expect.short(call),
                evidence=responses_tool,
            )


@check("RESP-TOOL-004", needs="responses")
def test_function_call_output_turn(responses_tool_turn: Exchange) -> None:
    exchange = responses_tool_turn
    expect.answered(exchange)
    if not (exchange.status is not None and 200 <= exchange.status < 300):
        # Not a decline: the provider served the first turn with the call, then refused its output.
        raise Violation(
            "The turn that sends a function_call_output back was refused",
            expected="200 with a reply: the user message, the provider's own function_call item and a "
            "function_call_output answering it by call_id are the documented loop",
            actual=f"{exchange.status} {exchange.reason}; {expect.short(exchange.text, 300)}",
            evidence=exchange,
        )
    body = expect.json_object(exchange)
    if not (isinstance(body.get("output"), list) and body["output"]):
        raise Violation(
            "The turn that sends a function_call_output back got no reply",
            pointer="/output",
            expected="output with a message (or further calls)",
            actual=expect.short(body.get("output")),
            evidence=exchange,
        )
