"""Faults of function calling with the Responses API (RESP-TOOL-001, -002, -004), each modelled on a real
server's or gateway's bug."""

from __future__ import annotations

import copy
import json
from typing import Any

from ..errors import invalid_request
from ._asgi import on
from ._registry import fault

RESPONSES = "/responses"


def _created(route: str, request: Any) -> bool:
    return route == "create" and isinstance(request, dict)


@fault(
    "responses-tools-ignored",
    site="request",
    summary="tools and tool_choice are dropped on /responses: a forced function tool gets a text reply.",
    seen_in='jundot/omlx#2877 (named tool choices downgraded); ollama/ollama#17921 ("none"/named ignored)',
)
def _tools_ignored(value: Any, *, path: str = "", **_: Any) -> Any:
    if on(path, RESPONSES) and isinstance(value, dict) and value.get("tools"):
        return {key: item for key, item in value.items() if key not in ("tools", "tool_choice")}
    return value


@fault(
    "responses-tool-args-object",
    site="responses.response",
    summary="A function_call item's arguments are a JSON object, not a JSON string.",
    seen_in="farion1231/cc-switch#5100 (function_call arguments emitted as an object); google/adk-go#1254",
)
def _args_object(value: Any, *, route: str = "", request: Any = None, **_: Any) -> Any:
    if not _created(route, request):
        return value
    edited = copy.deepcopy(value)
    for item in edited.get("output") or []:
        if item.get("type") == "function_call":
            item["arguments"] = json.loads(item["arguments"])
    return edited


@fault(
    "responses-tool-output-refused",
    site="request",
    summary="A function_call_output sent back with its function_call item (no previous_response_id) is refused: "
    "the server looks the call up only in its store.",
    seen_in="meituan-longcat/LongCat-2.0#14 (Responses tool turns fail); stateless gateways that need a store",
)
def _output_refused(value: Any, *, path: str = "", **_: Any) -> Any:
    if not (on(path, RESPONSES) and isinstance(value, dict) and isinstance(value.get("input"), list)):
        return value
    if value.get("previous_response_id"):
        return value
    for i, item in enumerate(value["input"]):
        if isinstance(item, dict) and item.get("type") == "function_call_output":
            message = f"No tool call found for function call output with call_id {item.get('call_id')}."
            return invalid_request(message, f"input[{i}]", "invalid_value")
    return value
