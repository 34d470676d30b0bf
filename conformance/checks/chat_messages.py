"""CHAT-MSG-*: every message form the request schema documents is accepted (OpenAPI
ChatCompletionRequestMessage: developer, system, user, assistant, tool; string or content-part arrays;
``name``), and an image part is answered or declined (capability ``vision``).

The roles and text forms are not optional: a 4xx to them is no decline but the finding (servers refuse
``developer`` with a 422, content arrays with "type must be string", ``name`` with a 400). An image part
is an optional capability: a 4xx with the error envelope is UNSUPPORTED, a 5xx never is.
"""

from __future__ import annotations

from typing import Any

from conformance import expect
from conformance.checks.chat import completion_object
from conformance.core.results import Violation
from conformance.engine import check
from conformance.transport.exchange import Exchange


def answered_text(exchange: Exchange) -> Any:
    """The first choice's content of a served answer (its shape is CHAT-005's)."""
    choice = expect.choices(completion_object(exchange), exchange)[0]
    message = choice.get("message")
    return message.get("content") if isinstance(message, dict) else None


@check("CHAT-MSG-001", needs="chat")
def test_every_message_form_is_accepted(chat_message_forms: Exchange) -> None:
    exchange = chat_message_forms
    expect.answered(exchange)
    if not 200 <= (exchange.status or 0) < 300:
        raise Violation(
            "A conversation in the documented message forms was refused",
            expected="200: developer and system messages, user and assistant content as a string or an array of "
            "text parts, name on a message, refusal null on an assistant turn are all documented",
            actual=f"{exchange.status} {exchange.reason}; {expect.short(exchange.text, 300)}",
            evidence=exchange,
        )
    content = answered_text(exchange)
    if not (isinstance(content, str) and content):
        raise Violation(
            "A conversation in the documented message forms got no answer",
            pointer="/choices/0/message/content",
            expected="an assistant answer to the last user message (an array of text parts)",
            actual=expect.short(content),
            evidence=exchange,
        )


@check("CHAT-MSG-002", needs=("chat", "vision"))
def test_image_part_is_answered_or_declined(chat_vision: Exchange) -> None:
    exchange = chat_vision
    expect.served(exchange, "a user message with an image_url part", feature="vision")
    answered_text(exchange)
