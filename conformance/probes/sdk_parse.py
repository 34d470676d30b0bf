"""Probes of the parse() oracles (conformance/checks/sdk_parse.py): openai-python's
``client.chat.completions.parse()`` running a tool loop, and parsing a structured output into a pydantic
model -- three small requests, none sent where the feature is declared absent.

Both run with the plain client only: no strict twin is judged for them.
"""

from __future__ import annotations

from typing import Any, Literal

import openai
from pydantic import BaseModel

from conformance.engine import probe
from conformance.probes.base import feature_declared
from conformance.probes.chat_format import FORMAT_MAX_TOKENS, JSON_MESSAGES
from conformance.probes.chat_stream import TOOL_MAX_TOKENS
from conformance.probes.chat_tools import NAMED, TOOL_MESSAGES, TOOL_RESULT
from conformance.sdk import PythonSdk, SdkOutcome
from conformance.target import Target


class GetWeather(BaseModel):
    """The arguments of get_weather, as a user declares them for parse()."""

    city: str


class Answer(BaseModel):
    """The structured answer a user asks parse() for."""

    answer: Literal["yes", "no"]


WEATHER = openai.pydantic_function_tool(GetWeather, name="get_weather", description="Get the weather for a city.")


def _parse(sdk: openai.OpenAI) -> Any:
    # client.chat.completions.parse() since openai 1.92; client.beta.chat.completions.parse() before.
    return getattr(sdk.chat.completions, "parse", None) or sdk.beta.chat.completions.parse


@probe
def sdk_tool_loop(python_sdk: PythonSdk, chat_model: str, target: Target) -> SdkOutcome:
    """parse() with a pydantic function tool forced, then the turn that answers the call with create().

    The value is (first completion, second completion or what the second turn raised, or None when the
    first turn brought no call): a refusal of the second turn is not a decline of tools."""
    feature_declared(target, "tools")
    limit = max(target.max_tokens, TOOL_MAX_TOKENS)

    def flow(sdk: openai.OpenAI) -> tuple[Any, Any]:
        common: dict[str, Any] = {"model": chat_model, "tools": [WEATHER], "max_tokens": limit, "temperature": 0}
        first = _parse(sdk)(messages=TOOL_MESSAGES, tool_choice=NAMED, **common)
        calls = first.choices[0].message.tool_calls or []
        if not calls:
            return first, None
        call = calls[0]
        assistant = {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.function.name, "arguments": call.function.arguments},
                }
            ],
        }
        result = {"role": "tool", "tool_call_id": call.id, "content": TOOL_RESULT}
        try:
            return first, sdk.chat.completions.create(messages=[*TOOL_MESSAGES, assistant, result], **common)
        except Exception as exc:  # judged: what the second turn raised
            return first, exc

    return python_sdk.run(
        "client.chat.completions.parse(tools=[pydantic_function_tool(GetWeather)]), then the tool result turn",
        flow,
        strict=False,
    )


@probe
def sdk_parse_format(python_sdk: PythonSdk, chat_model: str, target: Target) -> SdkOutcome:
    feature_declared(target, "structured_outputs")

    def flow(sdk: openai.OpenAI) -> Any:
        return _parse(sdk)(
            model=chat_model,
            messages=JSON_MESSAGES,
            response_format=Answer,
            max_tokens=max(target.max_tokens, FORMAT_MAX_TOKENS),
            temperature=0,
        )

    return python_sdk.run("client.chat.completions.parse(response_format=Answer)", flow, strict=False)
