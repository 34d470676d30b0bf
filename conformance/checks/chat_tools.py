"""CHAT-TOOL-*: tool calling, non-streamed and multi-turn (OpenAPI ChatCompletionMessageToolCall,
ChatCompletionToolChoiceOption, ChatCompletionRequestToolMessage; openai-python lib/_parsing/_completions.py
and lib/streaming/_deltas.py).

A forced call (``tool_choice`` naming ``get_weather``), the turn that answers it, and the other
``tool_choice`` forms: "none" must yield no call, "required" a call, "auto" a call in ``tool_calls`` and
never as text. A 4xx with the error envelope to a request with ``tools`` declines the capability
(UNSUPPORTED); a request another check owns is judged once, by its owner.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from jsonschema.validators import validator_for

from conformance import expect, streams
from conformance.checks.chat import FINISH_REASONS
from conformance.checks.chat_stream_options import IGNORED
from conformance.core.results import NotApplicable, Unsupported, Violation
from conformance.engine import check
from conformance.probes.chat_stream import WEATHER_TOOL
from conformance.transport.exchange import Exchange, StreamExchange

FORCED = "CHAT-TOOL-001"
TYPES = "CHAT-TOOL-002"
ARGUMENTS = "CHAT-TOOL-003"
NAME = "get_weather"
#: The functions the probes offer, by name: their parameter schemas.
PARAMETERS: dict[str, Any] = {NAME: WEATHER_TOOL["function"]["parameters"]}  # type: ignore[index]
# How a tool call looks when a server leaves it in the text: a JSON object naming an offered function with
# its arguments, {"name": …, "arguments" or "parameters": {…}} -- bare (Llama 3.1), in <tool_call> markup
# (Hermes, Qwen), after [TOOL_CALLS] or <|python_tag|>, or as {"function": {…}} -- or the name in the markup
# and the arguments after it, <function=NAME>{…} (Llama 3.1) or [TOOL_CALLS]NAME[ARGS]{…} (Mistral). Markup
# alone is no call: a small model that echoes its template's tool preamble ("… within <tool_call></tool_call>
# XML tags") called nothing (llama.cpp --jinja with gemma-3-270m; variation tool-auto-echoes-template).
NAME_IN_MARKUP = re.compile(r"(?:<function=|\[TOOL_CALLS\])\s*([A-Za-z0-9_.-]+)\s*(?:>|\[ARGS\])\s*(?=\{)")


def choice_of(exchange: Exchange, what: str, *, owner: str | None = None) -> dict[str, Any]:
    """The first choice of a served answer. A decline is UNSUPPORTED; any other failure is the owner's
    (``owner`` None: this check owns the request and fails on it)."""
    body = expect.served(exchange, what, feature="tools", owner=owner)
    choices = expect.choices(body, exchange)
    message = choices[0].get("message")
    if not isinstance(message, dict):
        raise NotApplicable("the answer carries no message object (see CHAT-005)", see="CHAT-005")
    return choices[0]


def calls_of(choice: dict[str, Any]) -> list[Any]:
    calls = choice["message"].get("tool_calls")
    return calls if isinstance(calls, list) else []


@check(FORCED, needs=("chat", "tools"))
def test_forced_call_is_made(chat_tools_forced: Exchange) -> None:
    choice = choice_of(chat_tools_forced, "a forced tool call")
    calls = calls_of(choice)
    if not calls:  # a call of the wrong shape or name is CHAT-TOOL-002's
        raise Violation(
            "A forced tool call was answered without it",
            pointer="/choices/0/message/tool_calls",
            expected=f"message.tool_calls calling {NAME} (tool_choice names it), or a 4xx declining tools",
            actual=f"tool_calls {expect.short(calls)}; content {expect.short(choice['message'].get('content'))}",
            evidence=chat_tools_forced,
        )


def judged_calls(forced: Exchange, *others: Exchange) -> Iterator[tuple[Exchange, dict[str, Any], int, Any]]:
    """Every tool call of every served answer: (exchange, choice, position, call). Tools declined to the
    forced call are UNSUPPORTED."""
    expect.answered(forced)
    if expect.declined(forced):
        raise Unsupported(f"tools: the provider declined a forced tool call ({forced.status} with an error envelope)")
    for exchange in (forced, *others):
        try:
            choice = choice_of(exchange, "the request", owner=FORCED)
        except (NotApplicable, Unsupported, Violation):
            continue  # judged by the check that owns the request
        for position, call in enumerate(calls_of(choice)):
            yield exchange, choice, position, call


def _type_problem(call: Any) -> str | None:
    if not isinstance(call, dict):
        return "a tool call is not an object"
    function = call.get("function")
    if not isinstance(call.get("id"), str) or not call["id"]:
        return "id is not a non-empty string"
    if call.get("type") != "function":
        return 'type is not "function"'
    if not isinstance(function, dict):
        return "function is not an object"
    if function.get("name") not in PARAMETERS:
        return f"function.name is not one of the tools ({', '.join(PARAMETERS)})"
    if not isinstance(function.get("arguments"), str):
        return "function.arguments is not a string (JSON text)"
    return None


@check(TYPES, needs=("chat", "tools"))
def test_tool_calls_have_documented_types(
    chat_tools_forced: Exchange, chat_tools_required: Exchange, chat_tools_auto: Exchange, chat_tools_none: Exchange
) -> None:
    judged = 0
    for exchange, _choice, position, call in judged_calls(
        chat_tools_forced, chat_tools_required, chat_tools_auto, chat_tools_none
    ):
        judged += 1
        problem = _type_problem(call)
        if problem:
            raise Violation(
                f"A tool call has the wrong shape: {problem}",
                pointer=f"/choices/0/message/tool_calls/{position}",
                expected='{"id": str, "type": "function", "function": {"name": str, "arguments": str}}',
                actual=expect.short(call),
                evidence=exchange,
            )
    if not judged:
        raise NotApplicable(f"no tool call to judge (see {FORCED})", see=FORCED)


def arguments_problem(text: str, name: str) -> str | None:
    """Why ``text`` is not a JSON object valid against the function's parameters, or None."""
    try:
        value = json.loads(text)
    except ValueError as exc:
        return f"not JSON ({exc.msg})"
    if not isinstance(value, dict):
        return f"JSON {type(value).__name__}, not an object"
    schema = PARAMETERS[name]
    error = next(iter(validator_for(schema)(schema).iter_errors(value)), None)
    return None if error is None else f"does not match the parameters schema: {error.message}"


@check(ARGUMENTS, needs=("chat", "tools"))
def test_tool_arguments_match_the_schema(
    chat_tools_forced: Exchange, chat_tools_required: Exchange, chat_tools_auto: Exchange, chat_tools_none: Exchange
) -> None:
    judged = 0
    for exchange, choice, position, call in judged_calls(
        chat_tools_forced, chat_tools_required, chat_tools_auto, chat_tools_none
    ):
        if _type_problem(call):
            continue  # the call's shape is CHAT-TOOL-002's
        judged += 1
        function = call["function"]
        problem = arguments_problem(function["arguments"], function["name"])
        if problem and choice.get("finish_reason") == "length":
            raise NotApplicable("the call was cut by the run's max_tokens")
        if problem:
            raise Violation(
                f"Tool call arguments are {problem}",
                pointer=f"/choices/0/message/tool_calls/{position}/function/arguments",
                expected=f"a JSON object valid against {json.dumps(PARAMETERS[function['name']])}",
                actual=repr(function["arguments"][:200]),
                evidence=exchange,
            )
    if not judged:
        raise NotApplicable(f"no well-formed tool call to judge (see {TYPES})", see=TYPES)


@check("CHAT-TOOL-004", needs=("chat", "tools"))
def test_finish_reason_agrees_with_the_calls(
    chat_tools_forced: Exchange, chat_tools_required: Exchange, chat_tools_auto: Exchange, chat_tools_none: Exchange
) -> None:
    # The OpenAI API answers a named (and at times a required) tool_choice with "stop" (vllm-project/vllm#49496,
    # ENTERPILOT/GoModel#124); "tool_calls" is what the description documents for a call.
    modes = ((chat_tools_forced, "named"), (chat_tools_required, "required"), (chat_tools_auto, "auto"))
    for exchange, mode in (*modes, (chat_tools_none, "none")):
        try:
            choice = choice_of(exchange, f'tool_choice "{mode}"', owner=FORCED)
        except (NotApplicable, Unsupported, Violation):
            continue
        reason, called = choice.get("finish_reason"), bool(calls_of(choice))
        if reason not in FINISH_REASONS:
            raise NotApplicable(f"finish_reason {reason!r} is no documented value (see CHAT-006)", see="CHAT-006")
        allowed = ("tool_calls", "stop") if mode in ("named", "required") else ("tool_calls",)
        if reason == "length" or (called and reason in allowed) or (not called and reason != "tool_calls"):
            continue
        raise Violation(
            "finish_reason says otherwise than the message" if not called else "A tool call finished otherwise",
            pointer="/choices/0/finish_reason",
            expected=(" or ".join(f'"{r}"' for r in allowed) + " for a message with tool_calls")
            if called
            else 'no "tool_calls" for a message without tool_calls',
            actual=f'finish_reason {reason!r} with tool_choice "{mode}" and {len(calls_of(choice))} tool call(s)',
            evidence=exchange,
        )


@check("CHAT-TOOL-005", needs=("chat", "tools"))
def test_tool_result_turn_is_answered(chat_tools_result_turn: Exchange) -> None:
    exchange = chat_tools_result_turn
    expect.answered(exchange)
    if not (exchange.status is not None and 200 <= exchange.status < 300):
        # Not a decline: the provider served the first turn with a call, then refused its answer.
        raise Violation(
            "The turn that answers a tool call was refused",
            expected="200 with an assistant message: the assistant turn (content null, tool_calls) and the tool "
            "message answering it by tool_call_id are the documented loop",
            actual=f"{exchange.status} {exchange.reason}; {expect.short(exchange.text, 300)}",
            evidence=exchange,
        )
    message = expect.choices(expect.json_object(exchange), exchange)[0].get("message")
    message = message if isinstance(message, dict) else {}
    content, calls = message.get("content"), message.get("tool_calls")
    if not ((isinstance(content, str) and content) or calls):  # the message's role is CHAT-005's
        raise Violation(
            "The turn that answers a tool call got no answer",
            pointer="/choices/0/message",
            expected="an assistant message with text (or further tool calls)",
            actual=expect.short(message),
            evidence=exchange,
        )


@check("CHAT-TOOL-006", needs=("chat", "tools"))
def test_tool_choice_none_calls_nothing(chat_tools_none: Exchange) -> None:
    choice = choice_of(chat_tools_none, 'tool_choice "none"')
    if calls_of(choice):
        raise Violation(
            'tool_choice "none" was answered with a tool call',
            pointer="/choices/0/message/tool_calls",
            expected='a text message: "none" means the model will not call any tool',
            actual=expect.short(calls_of(choice)),
            evidence=chat_tools_none,
        )


@check("CHAT-TOOL-007", needs=("chat", "tools"))
def test_tool_choice_required_calls_a_tool(chat_tools_required: Exchange) -> None:
    choice = choice_of(chat_tools_required, 'tool_choice "required"')
    if not calls_of(choice):
        raise Violation(
            'tool_choice "required" was answered without a tool call',
            pointer="/choices/0/message",
            expected='message.tool_calls: "required" means the model must call one or more tools',
            actual=f"content {expect.short(choice['message'].get('content'))}",
            evidence=chat_tools_required,
        )


def call_in_text(text: str) -> tuple[str, dict[str, Any]] | None:
    """The first call of an offered function written into ``text`` (see :data:`NAME_IN_MARKUP`), or None."""
    for match in NAME_IN_MARKUP.finditer(text):
        arguments = _json_at(text, match.end())
        if match.group(1) in PARAMETERS and _are_arguments(arguments):
            return match.group(1), arguments
    for start in (n for n, char in enumerate(text) if char == "{"):
        for value in _objects(_json_at(text, start)):
            function = value["function"] if isinstance(value.get("function"), dict) else value
            name = function.get("name")
            for key in ("arguments", "parameters"):
                arguments = function.get(key)
                arguments = _parsed(arguments) if isinstance(arguments, str) else arguments
                if name in PARAMETERS and _are_arguments(arguments):
                    return name, arguments
    return None


def _json_at(text: str, start: int) -> Any:
    try:
        return json.JSONDecoder().raw_decode(text, start)[0]
    except ValueError:
        return None


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    """Every JSON object in ``value``, itself first."""
    if isinstance(value, dict):
        yield value
        for item in value.values():
            yield from _objects(item)
    elif isinstance(value, list):
        for item in value:
            yield from _objects(item)


def _are_arguments(value: Any) -> bool:
    """Arguments of a call: an object, not a parameter schema (a tool's definition is no call)."""
    return isinstance(value, dict) and "properties" not in value and value.get("type") != "object"


@check("CHAT-TOOL-008", needs=("chat", "tools"))
def test_tool_calls_are_never_text(chat_tools_auto: Exchange) -> None:
    choice = choice_of(chat_tools_auto, 'tool_choice "auto"')
    content = choice["message"].get("content")
    found = call_in_text(content) if isinstance(content, str) else None
    if found is not None:
        raise Violation(
            "A tool call was written into content",
            pointer="/choices/0/message/content",
            expected="the call in message.tool_calls, never written into content (as markup or JSON)",
            actual=f"a call of {found[0]} with {expect.short(found[1], 100)} in content {expect.short(content)}; "
            f"tool_calls {expect.short(calls_of(choice))}",
            evidence=chat_tools_auto,
        )


def assembled_calls(stream: StreamExchange) -> dict[Any, dict[str, str]]:
    """The streamed calls of choice 0 as openai-python accumulates them (lib/streaming/_deltas.py): by
    tool-call index, every string field concatenated."""
    calls: dict[Any, dict[str, str]] = {}
    for item in streams.chunks(stream):
        for choice in streams.choices_of(item):
            delta = choice.get("delta") if isinstance(choice.get("delta"), dict) else {}
            for fragment in (delta.get("tool_calls") or []) if choice.get("index", 0) == 0 else []:
                if not isinstance(fragment, dict):
                    continue
                call = calls.setdefault(fragment.get("index"), {"name": "", "arguments": ""})
                function = fragment.get("function") if isinstance(fragment.get("function"), dict) else {}
                for key in ("name", "arguments"):
                    if isinstance(function.get(key), str):
                        call[key] += function[key]
                    elif function.get(key) is not None:
                        raise NotApplicable("streamed arguments are not strings (see CHAT-STREAM-052)")
    return calls


def _parsed(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


@check("CHAT-TOOL-009", needs=("chat", "tools"))
def test_streamed_call_is_the_same_call(
    chat_stream_tools: StreamExchange,
    chat_tools_forced: Exchange,
    chat_response: Exchange,
    chat_response_again: Exchange,
) -> None:
    expect.answered(chat_stream_tools)
    if expect.declined(chat_stream_tools):
        raise Unsupported(f"tools: the provider declined the streamed call ({chat_stream_tools.status})")
    choice = choice_of(chat_tools_forced, "a forced tool call", owner=FORCED)
    calls = calls_of(choice)
    if not calls or _type_problem(calls[0]):
        raise NotApplicable(f"no well-formed non-streamed call to compare with (see {FORCED})", see=FORCED)
    if arguments_problem(calls[0]["function"]["arguments"], calls[0]["function"]["name"]):
        raise NotApplicable(f"the non-streamed arguments are not a valid object (see {ARGUMENTS})", see=ARGUMENTS)
    if not 200 <= (chat_stream_tools.status or 0) < 300:
        raise NotApplicable("the streamed request was not served (see CHAT-STREAM-008)", see="CHAT-STREAM-008")
    streamed = assembled_calls(chat_stream_tools)
    if not streamed:
        raise NotApplicable(f"no tool call was streamed (see {IGNORED})", see=IGNORED)
    try:
        texts = [e.json()["choices"][0]["message"]["content"] for e in (chat_response, chat_response_again)]
    except (ValueError, KeyError, IndexError, TypeError):
        raise NotApplicable("no non-streamed content to tell whether the provider is deterministic") from None
    if texts[0] != texts[1]:
        raise NotApplicable("the provider is not deterministic at temperature 0: two identical requests differed")
    function = calls[0]["function"]
    first = next(iter(streamed.values()))  # the first call streamed
    want, got = _parsed(function["arguments"]), _parsed(first["arguments"])
    if want is None or got is None:
        raise NotApplicable(f"arguments that do not parse (see {ARGUMENTS} and CHAT-STREAM-052)", see=ARGUMENTS)
    if (first["name"], got) != (function["name"], want):
        raise Violation(
            "The streamed tool call assembles to another call than the non-streamed answer",
            pointer="tool call 0",
            expected=f"{function['name']}({json.dumps(want)}), as the same request answered without stream",
            actual=f"{first['name']}({json.dumps(got)}), assembled as openai-python accumulates the deltas",
            evidence=[chat_stream_tools, chat_tools_forced],
        )
