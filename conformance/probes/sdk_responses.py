"""Probes of the Responses API oracles (conformance/checks/sdk_responses.py): openai-python's
``client.responses.create()``, ``.stream()``, a tool loop through ``responses.parse()`` and
``responses.parse(text_format=Answer)`` -- five small requests, run with the plain client only (no strict
twin: strict validation of the Response model rejects providers for fields no client reads)."""

from __future__ import annotations

from typing import Any

import openai

from conformance import builders
from conformance.core.results import NotApplicable
from conformance.engine import probe
from conformance.probes.chat_tools import TOOL_RESULT
from conformance.probes.responses import (
    FORCED,
    INSTRUCTIONS,
    JSON_PROMPT,
    MIN_OUTPUT_TOKENS,
    TOOL_OUTPUT_TOKENS,
    TOOL_PROMPT,
    WEATHER,
)
from conformance.probes.sdk_parse import Answer
from conformance.sdk import PythonSdk, SdkOutcome
from conformance.target import Target

#: The strict function tool parse() parses the arguments of (strict needs every property required and no others).
STRICT_WEATHER = {**WEATHER, "strict": True, "parameters": {**WEATHER["parameters"], "additionalProperties": False}}


def _responses(sdk: openai.OpenAI) -> Any:
    resource = getattr(sdk, "responses", None)
    if resource is None:  # openai < 1.66
        raise NotApplicable("the installed openai-python has no client.responses")
    return resource


def _common(model: str, target: Target) -> dict[str, Any]:
    limit = max(target.max_tokens, MIN_OUTPUT_TOKENS)
    return {"model": model, "max_output_tokens": limit, "temperature": 0, "store": False}


@probe
def sdk_responses_create(python_sdk: PythonSdk, responses_model: str, target: Target) -> SdkOutcome:
    def flow(sdk: openai.OpenAI) -> Any:
        common = _common(responses_model, target)
        return _responses(sdk).create(input=builders.CHAT_PROMPT, instructions=INSTRUCTIONS, **common)

    return python_sdk.run("client.responses.create(input=..., instructions=...)", flow, strict=False)


@probe
def sdk_responses_stream(python_sdk: PythonSdk, responses_model: str, target: Target) -> SdkOutcome:
    """The helper iterated to the end: (the deltas it yielded, joined; the final response)."""

    def flow(sdk: openai.OpenAI) -> tuple[str, Any]:
        common = _common(responses_model, target)
        deltas = []
        with _responses(sdk).stream(input=builders.CHAT_PROMPT, instructions=INSTRUCTIONS, **common) as stream:
            for event in stream:
                if getattr(event, "type", None) == "response.output_text.delta":
                    deltas.append(event.delta)
            return "".join(deltas), stream.get_final_response()

    return python_sdk.run("client.responses.stream(...), then get_final_response()", flow, strict=False)


@probe
def sdk_responses_tool_loop(python_sdk: PythonSdk, responses_model: str, target: Target) -> SdkOutcome:
    """parse() with a strict function tool forced, then create() with the call and its output. The value is
    (first response, second response or what the second turn raised, or None when no call came)."""

    def flow(sdk: openai.OpenAI) -> tuple[Any, Any]:
        common = {**_common(responses_model, target), "max_output_tokens": TOOL_OUTPUT_TOKENS}
        user = {"role": "user", "content": TOOL_PROMPT}
        first = _responses(sdk).parse(input=[user], tools=[STRICT_WEATHER], tool_choice=FORCED, **common)
        calls = [item for item in first.output if getattr(item, "type", None) == "function_call"]
        if not calls:
            return first, None
        call = calls[0]
        sent_back = {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments}
        answer = {"type": "function_call_output", "call_id": call.call_id, "output": TOOL_RESULT}
        try:
            return first, _responses(sdk).create(input=[user, sent_back, answer], tools=[STRICT_WEATHER], **common)
        except Exception as exc:  # judged: what the second turn raised
            return first, exc

    return python_sdk.run(
        "client.responses.parse(tools=[strict function]), then the function_call_output turn", flow, strict=False
    )


@probe
def sdk_responses_parse(python_sdk: PythonSdk, responses_model: str, target: Target) -> SdkOutcome:
    """responses.parse(text_format=Answer): the SDK sends Answer's strict json_schema and parses output_text."""

    def flow(sdk: openai.OpenAI) -> Any:
        common = {**_common(responses_model, target), "max_output_tokens": TOOL_OUTPUT_TOKENS}
        return _responses(sdk).parse(input=JSON_PROMPT, text_format=Answer, **common)

    return python_sdk.run("client.responses.parse(text_format=Answer)", flow, strict=False)
