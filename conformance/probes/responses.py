"""Probes of the Responses API checks (conformance/checks/responses*.py): fourteen small requests.

Non-streamed: a string input with ``instructions``, an array of message items, a long answer cut by
``max_output_tokens``, a strict json_schema ``text.format``, a bad parameter. Streamed: the plain request.
Function calling: a forced function tool (non-streamed, stored so that the storage checks can read it back),
the same streamed, and the turn that sends the call's output back. Storage (``responses_store``): the
stored response read back, its input items, a turn continuing it by ``previous_response_id``, a cancel
(refused: it was not created in the background; ``responses_background``), its delete.

Every request is tiny (``max_output_tokens`` at the documented minimum, 16, or a little more for a call),
and every one but the stored tool call says ``store: false``: nothing is left on a real provider.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Final

from conformance import builders
from conformance.core.results import NotApplicable, Unsupported
from conformance.engine import RunState, probe
from conformance.probes.base import DECLARED_ABSENT
from conformance.probes.chat_tools import TOOL_RESULT
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange

#: The documented minimum of max_output_tokens.
MIN_OUTPUT_TOKENS: Final = 16
TOOL_OUTPUT_TOKENS: Final = 48
INSTRUCTIONS: Final = "Answer in plain English."
LONG_PROMPT: Final = "Count from 1 to 200, separated by commas."
TOOL_PROMPT: Final = "What is the weather in Paris? Use the get_weather tool."
MESSAGES: Final = [
    {"type": "message", "role": "developer", "content": "Answer briefly."},
    {"type": "message", "role": "user", "content": [{"type": "input_text", "text": builders.CHAT_PROMPT}]},
]
WEATHER: Final = {
    "type": "function",
    "name": "get_weather",
    "description": "Get the current weather for a city.",
    "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
}
FORCED: Final = {"type": "function", "name": "get_weather"}
ANSWER_SCHEMA: Final = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["answer"],
    "additionalProperties": False,
}
JSON_FORMAT: Final = {"format": {"type": "json_schema", "name": "answer", "schema": ANSWER_SCHEMA, "strict": True}}
JSON_PROMPT: Final = 'Is the sky blue on a clear day? Reply with JSON {"answer": "yes"} or {"answer": "no"}.'


def declared(target: Any, name: str) -> None:
    if target.capabilities is not None and name not in target.capabilities:
        raise Unsupported(f"{name}: {DECLARED_ABSENT}")


@probe
def responses_model(run_state: RunState) -> str:
    """The model of the Responses API: the chat model (given, or chosen as for chat)."""
    target = run_state.target
    declared(target, "responses")
    given = target.models.get("chat")
    if given:
        return given
    if target.capabilities is not None and "chat" not in target.capabilities:
        raise NotApplicable("no model for responses: pass --chat-model (chat is not declared, so none is probed)")
    choice = run_state.model_choice("chat")
    if choice.model is None:
        raise NotApplicable(f"no model for responses: {choice.detail}")
    return choice.model


def body(model: str, client: HttpClient, **extra: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "model": model,
        "input": builders.CHAT_PROMPT,
        "max_output_tokens": max(client.target.max_tokens, MIN_OUTPUT_TOKENS),
        "temperature": 0,
        "store": False,
    }
    value.update(extra)
    return value


def create(client: HttpClient, model: str, **extra: Any) -> Exchange:
    return client.request("POST", "responses", json_body=body(model, client, **extra))


def create_stream(client: HttpClient, model: str, **extra: Any) -> StreamExchange:
    return client.stream("POST", "responses", json_body=body(model, client, stream=True, **extra))


@probe
def responses_basic(client: HttpClient, responses_model: str) -> Exchange:
    return create(client, responses_model, instructions=INSTRUCTIONS)


@probe
def responses_messages(client: HttpClient, responses_model: str) -> Exchange:
    return create(client, responses_model, input=MESSAGES)


@probe
def responses_limit(client: HttpClient, responses_model: str) -> Exchange:
    return create(client, responses_model, input=LONG_PROMPT, max_output_tokens=MIN_OUTPUT_TOKENS)


@probe
def responses_json(client: HttpClient, responses_model: str) -> Exchange:
    return create(client, responses_model, input=JSON_PROMPT, text=JSON_FORMAT, max_output_tokens=TOOL_OUTPUT_TOKENS)


@probe
def responses_invalid(client: HttpClient, responses_model: str) -> Exchange:
    return create(client, responses_model, temperature="hot")


@probe
def responses_stream(client: HttpClient, responses_model: str) -> StreamExchange:
    return create_stream(client, responses_model, instructions=INSTRUCTIONS)


def tool_body(client: HttpClient, model: str, **extra: Any) -> dict[str, Any]:
    fields = {"input": TOOL_PROMPT, "tools": [WEATHER], "tool_choice": FORCED, "max_output_tokens": TOOL_OUTPUT_TOKENS}
    return body(model, client, **{**fields, **extra})


@probe
def responses_tool(client: HttpClient, responses_model: str) -> Exchange:
    """The forced call; stored unless storage is declared absent, so the storage checks can read it back."""
    store = client.target.capabilities is None or "responses_store" in client.target.capabilities
    return client.request("POST", "responses", json_body=tool_body(client, responses_model, store=store))


@probe
def responses_tool_stream(client: HttpClient, responses_model: str) -> StreamExchange:
    return client.stream("POST", "responses", json_body=tool_body(client, responses_model, stream=True))


def function_call(exchange: Exchange) -> dict[str, Any] | None:
    """The first function_call item of a served response, as sent; None when there is none."""
    try:
        output = exchange.json().get("output") if exchange.ok and exchange.status == 200 else None
    except (ValueError, AttributeError):
        return None
    calls = [i for i in output or [] if isinstance(i, dict) and i.get("type") == "function_call"]
    return calls[0] if calls else None


def answer_items(call: dict[str, Any]) -> list[dict[str, Any]]:
    """The call as the provider sent it (what an agent sends back), then its output."""
    sent_back = {key: call.get(key) for key in ("type", "call_id", "name", "arguments")}
    if not isinstance(sent_back["arguments"], str):  # an object (RESP-TOOL-002's finding) goes back as text
        sent_back["arguments"] = json.dumps(sent_back["arguments"])
    return [sent_back, {"type": "function_call_output", "call_id": call.get("call_id"), "output": TOOL_RESULT}]


def first_call(responses_tool: Exchange) -> dict[str, Any]:
    call = function_call(responses_tool)
    if call is None:
        raise NotApplicable("the forced request brought no function_call to answer (see RESP-TOOL-001)",
                            see="RESP-TOOL-001")  # fmt: skip
    return call


@probe
def responses_tool_turn(client: HttpClient, responses_model: str, responses_tool: Exchange) -> Exchange:
    """The second turn of the loop, stateless: the user message, the provider's own call, its output."""
    call = first_call(responses_tool)
    turn = [{"type": "message", "role": "user", "content": TOOL_PROMPT}, *answer_items(call)]
    return client.request("POST", "responses", json_body=tool_body(client, responses_model, input=turn))


@dataclass(frozen=True)
class Stored:
    """The stored tool call read back, its input items, a turn continuing it, a cancel, and its delete."""

    response_id: str
    retrieved: Exchange
    input_items: Exchange
    continued: Exchange | None
    deleted: Exchange
    #: POST /responses/{id}/cancel of this foreground response (None: responses_background declared absent).
    foreground_cancel: Exchange | None = None


@probe
def responses_stored(client: HttpClient, responses_model: str, responses_tool: Exchange) -> Stored:
    declared(client.target, "responses_store")
    try:
        response_id = responses_tool.json()["id"] if responses_tool.status == 200 else None
    except (ValueError, KeyError, TypeError):
        response_id = None
    if not isinstance(response_id, str) or not response_id:
        raise NotApplicable("the stored request was not served with an id (see RESP-001)", see="RESP-001")
    path = f"responses/{response_id}"
    retrieved = client.request("GET", path)
    items = client.request("GET", f"{path}/input_items")
    continued = None
    call = function_call(responses_tool)
    if call is not None and retrieved.status == 200:
        # The call's output sent by previous_response_id alone: the provider must know the call.
        turn = [answer_items(call)[1]]
        extra = {"previous_response_id": response_id, "input": turn}
        continued = client.request("POST", "responses", json_body=tool_body(client, responses_model, **extra))
    background = client.target.capabilities is None or "responses_background" in client.target.capabilities
    cancelled = client.request("POST", f"{path}/cancel") if background else None
    deleted = client.request("DELETE", path)
    return Stored(response_id, retrieved, items, continued, deleted, cancelled)
