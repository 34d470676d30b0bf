"""CHAT-*: non-streamed chat completions (seed 002 "Chat"; seed 004 response example)."""

from __future__ import annotations

from typing import Any

from conformance import expect
from conformance.core.results import NotApplicable, ProviderTimeout, Violation
from conformance.engine import check
from conformance.transport.exchange import Exchange

FINISH_REASONS = ("stop", "length", "tool_calls", "content_filter", "function_call")


def completion_object(exchange: Exchange) -> dict[str, Any]:
    """The parsed 2xx body; the HTTP status itself is CHAT-001's verdict."""
    expect.success(exchange, "POST /chat/completions")
    return expect.json_object(exchange)


@check("CHAT-001", needs="chat")
def test_chat_answers_json(chat_response: Exchange) -> None:
    expect.status(chat_response, 200)
    expect.media_type(chat_response, "application/json", "Chat completion is not application/json")


@check("CHAT-002", needs="chat")
def test_chat_object_is_chat_completion(chat_response: Exchange) -> None:
    body = completion_object(chat_response)
    if body.get("object") != "chat.completion":
        raise Violation(
            'Wrong "object"',
            pointer="/object",
            expected='"chat.completion"',
            actual=expect.short(body.get("object", "(missing)")),
            evidence=chat_response,
        )


@check("CHAT-003", needs="chat")
def test_chat_has_id_created_model(chat_response: Exchange) -> None:
    body = completion_object(chat_response)
    expect.field(body, "id", str, "", chat_response)
    expect.field(body, "created", int, "", chat_response)
    expect.field(body, "model", str, "", chat_response)


@check("CHAT-004", needs="chat")
def test_chat_created_is_epoch_seconds(chat_response: Exchange) -> None:
    created = completion_object(chat_response).get("created")
    if not expect.is_type(created, int):
        raise NotApplicable("no integer created (see CHAT-003)")
    if not expect.epoch_seconds(created):
        raise Violation(
            "created is not epoch seconds",
            pointer="/created",
            expected="a Unix timestamp in seconds",
            actual=expect.short(created),
            evidence=chat_response,
        )


@check("CHAT-005", needs="chat")
def test_chat_choices_have_index_and_assistant_message(chat_response: Exchange) -> None:
    body = completion_object(chat_response)
    for index, choice in enumerate(expect.choices(body, chat_response)):
        pointer = f"/choices/{index}"
        expect.field(choice, "index", int, pointer, chat_response)
        message = expect.field(choice, "message", dict, pointer, chat_response)
        if message.get("role") != "assistant":
            raise Violation(
                'Message role is not "assistant"',
                pointer=f"{pointer}/message/role",
                expected='"assistant"',
                actual=expect.short(message.get("role", "(missing)")),
                evidence=chat_response,
            )
        expect.field(message, "content", (str, type(None)), f"{pointer}/message", chat_response)


@check("CHAT-006", needs="chat")
def test_chat_finish_reason_is_documented(chat_response: Exchange) -> None:
    body = completion_object(chat_response)
    for index, choice in enumerate(expect.choices(body, chat_response)):
        reason = choice.get("finish_reason", "(missing)")
        if reason not in FINISH_REASONS:
            raise Violation(
                "finish_reason is not a documented value",
                pointer=f"/choices/{index}/finish_reason",
                expected=" | ".join(FINISH_REASONS),
                actual=expect.short(reason),
                evidence=chat_response,
            )


@check("CHAT-007", needs="chat")
def test_chat_usage_adds_up(chat_response: Exchange) -> None:
    counts = expect.usage(completion_object(chat_response), chat_response)
    expect.usage_adds_up(counts, chat_response)


@check("CHAT-008", needs="chat")
def test_chat_choices_carry_logprobs_and_refusal(chat_response: Exchange) -> None:
    body = completion_object(chat_response)
    for index, choice in enumerate(expect.choices(body, chat_response)):
        if "logprobs" not in choice:
            raise Violation(
                "A choice lacks the logprobs key",
                pointer=f"/choices/{index}/logprobs",
                expected="present (null when not requested)",
                actual="missing",
                evidence=chat_response,
            )
        message = choice.get("message")
        if isinstance(message, dict) and "refusal" not in message:
            raise Violation(
                "A message lacks the refusal key",
                pointer=f"/choices/{index}/message/refusal",
                expected="present (null when none)",
                actual="missing",
                evidence=chat_response,
            )


@check("CHAT-009", needs="chat")
def test_chat_max_tokens_bounds_completion(chat_max_tokens_2: Exchange) -> None:
    exchange = chat_max_tokens_2
    counts = expect.usage(completion_object(exchange), exchange)
    expect.completion_tokens_at_most(counts, 2, exchange)


@check("CHAT-010", needs=("chat", "n"))
def test_chat_n_returns_n_choices(chat_n_2: Exchange) -> None:
    exchange = chat_n_2
    expect.answered(exchange)
    expect.decline(exchange, "n > 1")
    body = completion_object(exchange)
    indexes = sorted(choice.get("index") for choice in expect.choices(body, exchange))
    if indexes != [0, 1]:
        raise Violation(
            "n=2 did not give two choices",
            pointer="/choices",
            expected="indexes [0, 1]",
            actual=f"indexes {indexes}",
            evidence=exchange,
        )


@check("CHAT-011", needs="chat")
def test_chat_accepts_max_completion_tokens(chat_max_completion_tokens: Exchange) -> None:
    exchange = chat_max_completion_tokens
    if exchange.error == "timeout" and exchange.status is None:
        raise NotApplicable("no answer in time: the bound did not end the generation (see CHAT-012)")
    expect.status(exchange, 200, title="max_completion_tokens was refused")


@check("CHAT-012", needs="chat")
def test_max_completion_tokens_ends_the_generation(chat_max_completion_tokens: Exchange) -> None:
    exchange = chat_max_completion_tokens
    if exchange.error == "timeout" and exchange.status is None:
        raise ProviderTimeout(
            "A chat completion bounded by max_completion_tokens got no answer in time",
            expected="an answer within the time limit: the bound ends the generation",
            actual="; ".join([*exchange.attempts, exchange.error_detail]),
            detail="It was sent again with the provider free of other requests of the run, and got no answer "
            "either: the provider ignores max_completion_tokens, or never ends this generation.",
            evidence=exchange,
        )
    expect.answered(exchange)
