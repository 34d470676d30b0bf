"""CHAT-013..015: request parameters are accepted and honoured, or refused -- never silently ignored, never
a 5xx (OpenAPI CreateChatCompletionRequest).

Where the effect of a parameter is observable without knowing the model, the check reads it: a
``max_completion_tokens`` below the natural answer bounds ``usage.completion_tokens``; a ``stop`` word taken
from the answer to the same request never appears in the answer. The parameters without an observable
effect that clients send on every call (``user``, ``seed``, ``store``, an empty ``logit_bias``...) are
accepted, or refused with a 4xx and the error envelope (the one decline rule: UNSUPPORTED). The whole
list of documented parameters, and what the suite does with each: spec/request-parameters.md.
"""

from __future__ import annotations

import json

from conformance import expect, streams
from conformance.checks.chat import completion_object
from conformance.core.results import NotApplicable, Unsupported, Violation
from conformance.engine import check
from conformance.probes.chat import MAX_COMPLETION_TOKENS
from conformance.probes.chat_params import ACCEPTED_PARAMS, plain_content
from conformance.transport.exchange import Exchange, StreamExchange

RUNAWAY = "CHAT-012"


def sent_stop(exchange: Exchange) -> list[str]:
    """The stop sequences the recorded request carried."""
    try:
        stop = json.loads(exchange.request_body or b"{}").get("stop")
    except (ValueError, AttributeError):
        return []
    return [word for word in stop if isinstance(word, str)] if isinstance(stop, list) else []


@check("CHAT-013", needs="chat")
def test_max_completion_tokens_bounds_the_answer(chat_max_completion_tokens: Exchange) -> None:
    exchange = chat_max_completion_tokens
    if exchange.error == "timeout" and exchange.status is None:
        raise NotApplicable(f"no answer in time (see {RUNAWAY})", see=RUNAWAY)
    expect.answered(exchange)
    if not 200 <= (exchange.status or 0) < 300:
        raise NotApplicable("max_completion_tokens was refused (see CHAT-011)", see="CHAT-011")
    body = completion_object(exchange)
    usage = body.get("usage")
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    if not expect.is_type(tokens, int):
        raise NotApplicable("no integer usage.completion_tokens (see CHAT-007)", see="CHAT-007")
    if tokens > MAX_COMPLETION_TOKENS:
        raise Violation(
            "max_completion_tokens did not bound the answer",
            pointer="/usage/completion_tokens",
            expected=f"at most {MAX_COMPLETION_TOKENS} (max_completion_tokens, the bound current SDKs send)",
            actual=f"{tokens}; content {expect.short(plain_content(exchange), 120)}",
            evidence=exchange,
        )


@check("CHAT-014", needs="chat")
def test_stop_sequence_ends_the_answer(chat_stop: Exchange) -> None:
    exchange = chat_stop
    expect.answered(exchange)
    expect.decline(exchange, "stop")
    body = completion_object(exchange)
    words = sent_stop(exchange)
    for index, choice in enumerate(expect.choices(body, exchange)):
        message = choice.get("message") if isinstance(choice.get("message"), dict) else {}
        content = message.get("content")
        found = next((word for word in words if isinstance(content, str) and word in content), None)
        if found is not None:
            raise Violation(
                "The answer runs past its stop sequence",
                pointer=f"/choices/{index}/message/content",
                expected=f"the answer cut before {found!r} (stop {words!r}; the stop sequence itself is never "
                "part of the answer)",
                actual=expect.short(content, 200),
                evidence=exchange,
            )


@check("CHAT-STREAM-100", needs="chat")
def test_stop_sequence_ends_the_stream(chat_stream_stop: StreamExchange) -> None:
    stream = chat_stream_stop
    expect.answered(stream)
    expect.decline(stream, "stop")
    if not 200 <= (stream.status or 0) < 300:
        raise NotApplicable("the streamed request was not served (see CHAT-STREAM-008)", see="CHAT-STREAM-008")
    words, content = sent_stop(stream), streams.content_text(stream)
    found = next((word for word in words if word in content), None)
    if found is not None:
        raise Violation(
            "The streamed answer runs past its stop sequence",
            pointer="choice 0, delta.content joined",
            expected=f"the stream ended before {found!r} (stop {words!r}; the stop sequence itself is never sent)",
            actual=expect.short(content, 200),
            evidence=stream,
        )


@check("CHAT-015", needs="chat")
def test_optional_parameters_are_accepted_or_refused(chat_params_accepted: Exchange) -> None:
    exchange = chat_params_accepted
    expect.answered(exchange)
    status = exchange.status or 0
    names = ", ".join(ACCEPTED_PARAMS)
    if 200 <= status < 300:
        completion_object(exchange)  # the shape of the answer is CHAT-002..008's
        return
    error = expect.error_envelope_or_none(exchange)
    if expect.declined(exchange):
        assert error is not None
        said = f"param {error.get('param')!r}: {error['message'][:120]}"
        raise Unsupported(f"one of {names} is declined ({exchange.status}, {said})")
    raise Violation(
        "A documented optional parameter was neither accepted nor refused with the error envelope",
        expected=f"200, or a 4xx with the error envelope naming the parameter it does not support ({names})",
        actual=f"{exchange.status} {exchange.reason}; {expect.short(exchange.text, 200)}",
        evidence=exchange,
    )
