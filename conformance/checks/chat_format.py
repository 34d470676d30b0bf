"""CHAT-FORMAT-*: structured outputs -- ``response_format`` json_object and json_schema (OpenAPI
ResponseFormatJsonObject, ResponseFormatJsonSchema; openai-python lib/_parsing/_completions.py).

The content of a json_object answer is one JSON object; of a json_schema answer with ``strict: true``, a
JSON document valid against the schema, streamed and not; an invalid schema is refused with a 4xx. A 4xx
with the error envelope to a valid request declines the capability (UNSUPPORTED, ``structured_outputs``).
"""

from __future__ import annotations

import json
from typing import Any

from jsonschema.validators import validator_for

from conformance import expect, streams
from conformance.checks.chat_stream import judged
from conformance.core.results import NotApplicable, Unsupported, Violation
from conformance.engine import check
from conformance.probes.chat_format import ANSWER_SCHEMA
from conformance.transport.exchange import Exchange, StreamExchange

SCHEMA = "CHAT-FORMAT-002"


def declined(exchange: Exchange, what: str) -> None:
    expect.answered(exchange)
    if expect.declined(exchange):
        status = exchange.status
        raise Unsupported(f"structured outputs: the provider declined {what} ({status} with an error envelope)")


def served_message(exchange: Exchange, what: str) -> tuple[dict[str, Any], Any]:
    """The first choice's message of a served answer, and its finish_reason."""
    choice = expect.choices(expect.served(exchange, what, feature="structured outputs"), exchange)[0]
    message = choice.get("message")
    if not isinstance(message, dict):
        raise NotApplicable("the answer carries no message object (see CHAT-005)", see="CHAT-005")
    return message, choice.get("finish_reason")


def document_problem(content: Any, schema: dict[str, Any] | None) -> str | None:
    """Why ``content`` is not exactly one JSON object (valid against ``schema``), or None."""
    if not isinstance(content, str):
        return f"content is {expect.short(content)}, not a string"
    try:
        value = json.loads(content)
    except ValueError as exc:
        return f"content is not JSON ({exc.msg} at character {exc.pos})"
    if not isinstance(value, dict):
        return f"content is a JSON {type(value).__name__}, not an object"
    if schema is None:
        return None
    error = next(iter(validator_for(schema)(schema).iter_errors(value)), None)
    return None if error is None else f"content does not match the schema: {error.message}"


def judge_document(content: Any, reason: Any, refusal: Any, schema: dict[str, Any] | None) -> str | None:
    problem = document_problem(content, schema)
    if problem and reason == "length":
        raise NotApplicable("the answer was cut by the run's max_tokens")
    if problem and content is None and isinstance(refusal, str) and refusal:
        raise NotApplicable(f"the model refused ({refusal[:80]!r}): a refusal carries no document")
    return problem


@check("CHAT-FORMAT-001", needs=("chat", "structured_outputs"))
def test_json_object_content_is_json(chat_json_object: Exchange) -> None:
    message, reason = served_message(chat_json_object, 'response_format "json_object"')
    problem = judge_document(message.get("content"), reason, message.get("refusal"), None)
    if problem:
        raise Violation(
            f"A json_object answer is not one JSON object: {problem}",
            pointer="/choices/0/message/content",
            expected="content that json.loads() parses, as a whole, into an object (no code fence, no prose)",
            actual=expect.short(message.get("content")),
            evidence=chat_json_object,
        )


@check(SCHEMA, needs=("chat", "structured_outputs"))
def test_json_schema_content_validates(chat_json_schema: Exchange) -> None:
    message, reason = served_message(chat_json_schema, 'response_format "json_schema" (strict)')
    problem = judge_document(message.get("content"), reason, message.get("refusal"), ANSWER_SCHEMA)
    if problem:
        raise Violation(
            f"A strict json_schema answer does not follow the schema: {problem}",
            pointer="/choices/0/message/content",
            expected=f"one JSON document valid against {json.dumps(ANSWER_SCHEMA)}",
            actual=expect.short(message.get("content")),
            evidence=chat_json_schema,
        )


@check("CHAT-FORMAT-003", needs=("chat", "structured_outputs"))
def test_streamed_json_schema_content_validates(chat_stream_json_schema: StreamExchange) -> None:
    declined(chat_stream_json_schema, 'a streamed response_format "json_schema"')
    judged(chat_stream_json_schema)
    reasons = [
        choice.get("finish_reason")
        for item in streams.chunks(chat_stream_json_schema)
        for choice in streams.choices_of(item)
        if choice.get("finish_reason") is not None
    ]
    content = streams.content_text(chat_stream_json_schema, 0)
    problem = judge_document(content, reasons[-1] if reasons else None, None, ANSWER_SCHEMA)
    if problem:
        raise Violation(
            f"The streamed content of a strict json_schema request does not follow the schema: {problem}",
            pointer="concatenated delta.content of choice 0",
            expected=f"one JSON document valid against {json.dumps(ANSWER_SCHEMA)}",
            actual=expect.short(content),
            evidence=chat_stream_json_schema,
        )


@check("CHAT-FORMAT-004", needs=("chat", "structured_outputs"))
def test_invalid_schema_is_refused(chat_json_schema: Exchange, chat_json_schema_invalid: Exchange) -> None:
    declined(chat_json_schema, 'response_format "json_schema"')
    if not 200 <= (chat_json_schema.status or 0) < 300:
        raise NotApplicable(f"a valid json_schema request was not served (see {SCHEMA})", see=SCHEMA)
    exchange = chat_json_schema_invalid
    expect.answered(exchange)
    status = exchange.status or 0
    if not 400 <= status < 500 or expect.error_envelope_or_none(exchange) is None:
        raise Violation(
            "A response_format whose schema is not a JSON Schema was not refused",
            expected='a 4xx with the error envelope naming the schema ("type": "no-such-type" is no JSON type)',
            actual=f"{exchange.status} {exchange.reason}; {expect.short(exchange.text, 200)}",
            evidence=exchange,
        )
