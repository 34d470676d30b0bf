"""A ``POST /v1/responses`` body in, a :class:`ResponsesRequest` (or the OpenAI-style 400/404) out.

``input`` is a string (one user message) or an array of items: messages (``role`` and string or part
``content``), ``function_call`` items sent back as the provider produced them, and ``function_call_output``
items answering them by ``call_id``. An output for a call that neither the input nor the previous response
holds is refused, as OpenAI refuses it ("No tool call found for function call output"). ``tools`` are the
Responses API's flat function tools (``{"type": "function", "name", "parameters"}``), ``text.format`` one of
text, json_object and json_schema, ``max_output_tokens`` at least 16 as documented. ``background`` needs
``store`` (a background response is read back by polling it).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from .catalog import CHAT
from .chat_features import schema_problem
from .errors import ApiError, invalid_request, missing_parameter
from .model import count_tokens
from .params import BodyReader, Reject, as_array, as_bool, as_object, as_str, int_in, invalid_value, one_of
from .policy import Policy
from .request_types import Tool
from .validation import check_model

__all__ = ["ResponsesRequest", "validate_responses"]

ROLES: Final = ("user", "assistant", "system", "developer")
TEXT_PARTS: Final = ("input_text", "output_text", "text", "refusal")
ENDPOINT: Final = "v1/responses"
MIN_OUTPUT_TOKENS: Final = 16
_OVERHEAD: Final = 3  # per input item, as chat counts a message


@dataclass(frozen=True, slots=True)
class ResponsesRequest:
    model: str
    items: tuple[dict[str, Any], ...]  # the input as items (a string input is one user message)
    prompt_text: str  # instructions and every item's text: seeds the generator
    prompt_tokens: int
    last_user_text: str  # the last item's text when a user sent it; empty after a function_call_output
    instructions: str | None = None
    max_output_tokens: int | None = None
    tools: tuple[Tool, ...] = ()
    tool_choice: str = "auto"  # "none" | "auto" | "required"
    named_tool: str | None = None
    text_format: str = "text"  # "text" | "json_object" | "json_schema"
    json_schema: dict[str, Any] | None = None
    stream: bool = False
    store: bool = True
    background: bool = False
    previous_response_id: str | None = None
    echo: dict[str, Any] = field(default_factory=dict)  # request values the response object repeats


def _text_of(content: Any, param: str) -> str:
    if isinstance(content, str):
        return content
    parts = as_array(content, param)
    texts = []
    for j, part in enumerate(parts):
        part = as_object(part, f"{param}[{j}]")
        kind = as_str(part.get("type"), f"{param}[{j}].type")
        if kind in TEXT_PARTS:
            texts.append(as_str(part.get("text", part.get("refusal")), f"{param}[{j}].text"))
    return " ".join(texts)


def _item(value: Any, param: str) -> tuple[dict[str, Any], str]:
    """One input item, normalised, and its text."""
    item = as_object(value, param)
    kind = item.get("type", "message")
    if kind == "message":
        role = one_of(*ROLES)(item.get("role"), f"{param}.role")
        if item.get("content") is None:
            raise Reject(missing_parameter(f"{param}.content"))
        text = _text_of(item["content"], f"{param}.content")
        return {"type": "message", "role": role, "content": item["content"]}, text
    if kind == "function_call":
        call_id = as_str(item.get("call_id"), f"{param}.call_id")
        name = as_str(item.get("name"), f"{param}.name")
        arguments = as_str(item.get("arguments"), f"{param}.arguments")
        return {"type": kind, "call_id": call_id, "name": name, "arguments": arguments}, f"{name}({arguments})"
    if kind == "function_call_output":
        call_id = as_str(item.get("call_id"), f"{param}.call_id")
        output = item.get("output")
        text = output if isinstance(output, str) else _text_of(output, f"{param}.output")
        return {"type": kind, "call_id": call_id, "output": output}, text
    raise invalid_value(f"{param}.type", f"unsupported input item type '{kind}'.")


def _tools(value: Any, param: str) -> tuple[Tool, ...]:
    found = []
    for i, tool in enumerate(as_array(value, param)):
        tool = as_object(tool, f"{param}[{i}]")
        one_of("function")(tool.get("type"), f"{param}[{i}].type")
        if tool.get("name") is None:
            raise Reject(missing_parameter(f"{param}[{i}].name"))
        parameters = tool.get("parameters")
        if parameters is not None:
            as_object(parameters, f"{param}[{i}].parameters")
        found.append(Tool(as_str(tool["name"], f"{param}[{i}].name"), parameters))
    return tuple(found)


def _tool_choice(value: Any, param: str) -> tuple[str, str | None]:
    if isinstance(value, str):
        return one_of("none", "auto", "required")(value, param), None
    choice = as_object(value, param)
    one_of("function")(choice.get("type"), f"{param}.type")
    return "required", as_str(choice.get("name"), f"{param}.name")


def _text(value: Any, param: str) -> tuple[str, dict[str, Any] | None]:
    fmt = as_object(as_object(value, param).get("format") or {"type": "text"}, f"{param}.format")
    kind = one_of("text", "json_object", "json_schema")(fmt.get("type"), f"{param}.format.type")
    if kind != "json_schema":
        return kind, None
    as_str(fmt.get("name"), f"{param}.format.name")
    schema = as_object(fmt.get("schema"), f"{param}.format.schema")
    problem = schema_problem(schema)
    if problem is not None:
        raise invalid_value(f"{param}.format.schema", f"Invalid schema: {problem}", "invalid_schema")
    return kind, schema


def _items(body: Mapping[str, Any], earlier: tuple[dict[str, Any], ...]) -> tuple[list[dict[str, Any]], list[str]]:
    value = body.get("input")
    if value is None:
        raise Reject(missing_parameter("input"))
    if isinstance(value, str):
        return [{"type": "message", "role": "user", "content": value}], [value]
    items, texts = [], []
    for i, raw in enumerate(as_array(value, "input")):
        item, text = _item(raw, f"input[{i}]")
        items.append(item)
        texts.append(text)
    calls = {item.get("call_id") for item in (*earlier, *items) if item.get("type") == "function_call"}
    for i, item in enumerate(items):
        if item["type"] == "function_call_output" and item["call_id"] not in calls:
            message = f"No tool call found for function call output with call_id {item['call_id']}."
            raise Reject(invalid_request(message, f"input[{i}]", "invalid_value"))
    return items, texts


def validate_responses(
    body: Any, policy: Policy, history: Callable[[str], tuple[dict[str, Any], ...] | None]
) -> ResponsesRequest | ApiError:
    """``history(id)``: the input and output items of a stored response (None: no such response)."""
    try:
        if not isinstance(body, dict):
            raise Reject(invalid_request("The request body must be a JSON object."))
        model = check_model(body, ENDPOINT, policy, serves=CHAT)
        reader = BodyReader(body, strict=policy.validate_params)
        previous = reader.optional("previous_response_id", as_str, None)
        earlier: tuple[dict[str, Any], ...] = ()
        if previous is not None:
            found = history(previous)
            if found is None:
                message = f"Previous response with id '{previous}' not found."
                raise Reject(invalid_request(message, "previous_response_id", "previous_response_not_found"))
            earlier = found
        items, texts = _items(body, earlier)
        instructions = reader.optional("instructions", as_str, None)
        limit = reader.optional("max_output_tokens", int_in(MIN_OUTPUT_TOKENS, None), None)
        tools = reader.optional("tools", _tools, ()) if policy.support_tools else ()
        mode, named = reader.optional("tool_choice", _tool_choice, ("auto", None))
        if named is not None and not reader.require(
            any(tool.name == named for tool in tools),
            invalid_request(f"Tool '{named}' in 'tool_choice' is not one of the 'tools'.", "tool_choice"),
        ):
            mode, named = "auto", None
        text_format, schema = reader.optional("text", _text, ("text", None))
        sampling = {name: body.get(name) for name in ("temperature", "top_p")}
        store = reader.optional("store", as_bool, True)
        background = reader.optional("background", as_bool, False)
        if background and not store:
            raise Reject(invalid_request("A background response must be stored: store cannot be false.", "store"))
        reader.sampling()  # validated, deliberately without effect
        prior_text = [f"{i.get('role', i['type'])}: {json.dumps(i, sort_keys=True)}" for i in earlier]
        prompt = "\n".join([instructions or "", *prior_text, *texts])
        last = items[-1]
        last_user = texts[-1] if last["type"] == "message" and last["role"] == "user" else ""
        return ResponsesRequest(
            model=model,
            items=tuple(items),
            prompt_text=prompt,
            prompt_tokens=count_tokens(prompt) + _OVERHEAD * (len(items) + len(earlier)),
            last_user_text=last_user,
            instructions=instructions,
            max_output_tokens=limit if policy.honour_max_tokens else None,
            tools=tools,
            tool_choice=mode,
            named_tool=named,
            text_format=text_format if policy.support_response_format else "text",
            json_schema=schema,
            stream=reader.optional("stream", as_bool, False),
            store=store,
            background=background,
            previous_response_id=previous,
            echo={**sampling, "tools": body.get("tools") or [], "tool_choice": body.get("tool_choice", "auto")},
        )
    except Reject as rejected:
        return rejected.error
