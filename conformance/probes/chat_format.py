"""Probes of the structured-output checks (conformance/checks/chat_format.py): ``response_format``
json_object, json_schema with ``strict`` (streamed and not) and an invalid schema -- four small requests,
none sent where structured outputs are declared absent.

The schema is tiny and closed (one property, an enum of two strings): any conformant answer is short,
and the deterministic reference model's answer is always the same.
"""

from __future__ import annotations

from typing import Any

from conformance import builders
from conformance.engine import probe
from conformance.probes.base import feature_declared
from conformance.transport.client import HttpClient
from conformance.transport.exchange import Exchange, StreamExchange

# OpenAI refuses json_object unless a message says "JSON"; a closed question keeps the answer short.
JSON_MESSAGES = [{"role": "user", "content": 'Is water wet? Reply in JSON as {"answer": "yes"} or {"answer": "no"}.'}]
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {"answer": {"type": "string", "enum": ["yes", "no"]}},
    "required": ["answer"],
    "additionalProperties": False,
}
JSON_SCHEMA_FORMAT = {"type": "json_schema", "json_schema": {"name": "answer", "strict": True, "schema": ANSWER_SCHEMA}}
#: Not a JSON Schema: "type" names no JSON type.
INVALID_SCHEMA_FORMAT = {
    "type": "json_schema",
    "json_schema": {
        "name": "answer",
        "strict": True,
        "schema": {
            "type": "object",
            "properties": {"answer": {"type": "no-such-type"}},
            "required": ["answer"],
            "additionalProperties": False,
        },
    },
}
# A JSON answer needs more tokens than a greeting; still a tiny request.
FORMAT_MAX_TOKENS = 48


def format_body(client: HttpClient, response_format: dict[str, Any]) -> dict[str, Any]:
    feature_declared(client.target, "structured_outputs")
    return {
        "messages": JSON_MESSAGES,
        "response_format": response_format,
        "max_tokens": max(client.target.max_tokens, FORMAT_MAX_TOKENS),
    }


@probe
def chat_json_object(client: HttpClient, chat_model: str) -> Exchange:
    return builders.chat(client, chat_model, **format_body(client, {"type": "json_object"}))


@probe
def chat_json_schema(client: HttpClient, chat_model: str) -> Exchange:
    return builders.chat(client, chat_model, **format_body(client, JSON_SCHEMA_FORMAT))


@probe
def chat_stream_json_schema(client: HttpClient, chat_model: str) -> StreamExchange:
    return builders.chat_stream(client, chat_model, **format_body(client, JSON_SCHEMA_FORMAT))


@probe
def chat_json_schema_invalid(client: HttpClient, chat_model: str) -> Exchange:
    return builders.chat(client, chat_model, **format_body(client, INVALID_SCHEMA_FORMAT))
