"""Probes of the tool checks (conformance/checks/chat_tools.py and chat_tools_parallel.py): a forced call,
the turn that answers it, each other ``tool_choice`` form, and parallel calls streamed and with
``parallel_tool_calls`` false -- seven small requests, none sent where tools are declared absent.

The forced call is the streamed probe's request (chat_stream_tools) without ``stream``, so the two can be
compared; the second turn sends back the provider's own call (its id, name and arguments), as an agent
loop does, and the tool's answer to it. The "auto" request names two cities: a model that calls tools in
parallel (the default) answers it with two calls, which the parallel checks judge.
"""

from __future__ import annotations

import json
from typing import Any

from conformance import builders, expect
from conformance.core.results import NotApplicable, Unsupported
from conformance.engine import probe
from conformance.probes.base import feature_declared
from conformance.probes.chat_stream import TOOL_MAX_TOKENS, WEATHER_TOOL
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange

TOOL_PROMPT = "What is the weather in Paris? Use the get_weather tool."
TOOL_MESSAGES = [{"role": "user", "content": TOOL_PROMPT}]
NAMED = {"type": "function", "function": {"name": "get_weather"}}
#: What the tool "returned", sent back in the second turn.
TOOL_RESULT = json.dumps({"city": "Paris", "temperature_c": 21, "sky": "clear"})
#: tool_choice "required" is asked with a prompt that names no tool: ignoring it yields text.
#: The requirement that owns a forced request answered without a call.
FORCED = "CHAT-TOOL-001"
REQUIRED_MESSAGES = [{"role": "user", "content": builders.CHAT_PROMPT}]
#: Two subjects, one call each when calls are parallel (the reference model calls once per quoted phrase).
PARALLEL_MESSAGES = [
    {"role": "user", "content": 'What is the weather in "Paris" and in "Tokyo"? Call get_weather once for each city.'}
]


def tool_request(client: HttpClient, chat_model: str, **extra: Any) -> Exchange:
    feature_declared(client.target, "tools")
    body: dict[str, Any] = {
        "messages": TOOL_MESSAGES,
        "tools": [WEATHER_TOOL],
        "max_tokens": max(client.target.max_tokens, TOOL_MAX_TOKENS),
        **extra,
    }
    return builders.chat(client, chat_model, **body)


@probe
def chat_tools_forced(client: HttpClient, chat_model: str) -> Exchange:
    return tool_request(client, chat_model, tool_choice=NAMED)


def first_call(exchange: Exchange) -> dict[str, Any] | None:
    """The first tool call of a 2xx answer, as sent; None when there is none."""
    try:
        calls = exchange.json()["choices"][0]["message"].get("tool_calls") if exchange.ok else None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None
    return calls[0] if isinstance(calls, list) and calls and isinstance(calls[0], dict) else None


@probe
def chat_tools_result_turn(client: HttpClient, chat_model: str, chat_tools_forced: Exchange) -> Exchange:
    """The second turn of the loop: the assistant message with the provider's own call, then its result."""
    if expect.declined(chat_tools_forced):
        status = chat_tools_forced.status
        raise Unsupported(f"tools: the provider declined the first turn ({status} with an error envelope)")
    call = first_call(chat_tools_forced)
    if call is None:
        raise NotApplicable("the forced request brought no tool call to answer (see CHAT-TOOL-001)", see=FORCED)
    function = call.get("function") if isinstance(call.get("function"), dict) else {}
    assistant = {
        "role": "assistant",
        "content": None,  # what openai-python sends back for a message that only calls tools
        "tool_calls": [
            {
                "id": call.get("id"),
                "type": "function",
                "function": {"name": function.get("name"), "arguments": function.get("arguments")},
            }
        ],
    }
    answer = {"role": "tool", "tool_call_id": call.get("id"), "content": TOOL_RESULT}
    return tool_request(client, chat_model, messages=[*TOOL_MESSAGES, assistant, answer])


@probe
def chat_tools_none(client: HttpClient, chat_model: str) -> Exchange:
    return tool_request(client, chat_model, tool_choice="none")


@probe
def chat_tools_required(client: HttpClient, chat_model: str) -> Exchange:
    return tool_request(client, chat_model, messages=REQUIRED_MESSAGES, tool_choice="required")


@probe
def chat_tools_auto(client: HttpClient, chat_model: str) -> Exchange:
    return tool_request(client, chat_model, messages=PARALLEL_MESSAGES, tool_choice="auto")


@probe
def chat_tools_serial(client: HttpClient, chat_model: str) -> Exchange:
    """The "auto" request with ``parallel_tool_calls`` false: at most one call."""
    return tool_request(client, chat_model, messages=PARALLEL_MESSAGES, tool_choice="auto", parallel_tool_calls=False)


@probe
def chat_stream_tools_parallel(client: HttpClient, chat_model: str) -> StreamExchange:
    """The "auto" request streamed: each call's deltas at its own index."""
    feature_declared(client.target, "tools")
    return builders.chat_stream(
        client,
        chat_model,
        messages=PARALLEL_MESSAGES,
        tools=[WEATHER_TOOL],
        tool_choice="auto",
        max_tokens=max(client.target.max_tokens, TOOL_MAX_TOKENS),
    )
