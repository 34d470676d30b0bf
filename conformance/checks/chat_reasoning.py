"""CHAT-REASON-*: a request with ``reasoning_effort`` is answered or declined (capability ``reasoning``), its
reasoning text never leaks into the content, and the field that carries it has one name streamed and not.

Reasoning models return their reasoning beside the content in a field the OpenAPI description does not
name: ``reasoning_content`` (DeepSeek's API, llama.cpp, vLLM before its rename) or ``reasoning`` (vLLM
since, OpenRouter). Either is legal; OpenAI's own models return none. What breaks clients is the reasoning
in ``content`` as ``<think>`` markup (a server without a reasoning parser), and a field whose name changes
between the answer and the stream (clients read one name in both modes). CHAT-REASON-003 reports the
field it found in its PASS message.
"""

from __future__ import annotations

import re
from typing import Any, Final

from conformance import expect, streams
from conformance.checks.chat import completion_object
from conformance.core.results import NotApplicable, Unsupported, Violation
from conformance.engine import check
from conformance.transport.exchange import Exchange, StreamExchange

OWNER: Final = "CHAT-REASON-001"
LEAK: Final = "CHAT-REASON-002"
RUNAWAY: Final = "CHAT-012"
#: The names reasoning text is returned under, beside ``content``.
REASONING_FIELDS: Final = ("reasoning_content", "reasoning")
#: Reasoning markup of the common reasoning models (DeepSeek-R1, Qwen3, QwQ; Command R7B).
THINK_MARKUP: Final = re.compile(r"</?think(?:ing)?>|<\|(?:START|END)_THINKING\|>", re.IGNORECASE)


def bounded_in_time(exchange: Exchange) -> None:
    """A request bounded only by max_completion_tokens that got no answer is CHAT-012's finding (a provider
    that ignores the bound generates until the time limit), as for CHAT-013."""
    if exchange.error == "timeout" and exchange.status is None:
        raise NotApplicable(f"no answer in time (see {RUNAWAY})", see=RUNAWAY)


def served(exchange: Exchange) -> None:
    """Go on with a 2xx answer; an honest decline is UNSUPPORTED; anything else is CHAT-REASON-001's."""
    bounded_in_time(exchange)
    expect.answered(exchange)
    if 200 <= (exchange.status or 0) < 300:
        return
    if expect.declined(exchange):
        raise Unsupported(f"reasoning: reasoning_effort declined ({exchange.status} with an error envelope)")
    raise NotApplicable(f"reasoning_effort was neither answered nor declined (see {OWNER})", see=OWNER)


def first_message(exchange: Exchange) -> dict[str, Any]:
    choice = expect.choices(completion_object(exchange), exchange)[0]
    message = choice.get("message")
    return message if isinstance(message, dict) else {}


def carried_in(found: dict[str, Any]) -> set[str]:
    """The reasoning fields of a message or delta that carry text."""
    return {name for name in REASONING_FIELDS if isinstance(found.get(name), str) and found[name]}


def streamed_fields(stream: StreamExchange) -> set[str]:
    """The reasoning fields the deltas of choice 0 carry; a stream without deltas is another finding's."""
    found = streams.chunks(stream)
    if not found:
        raise NotApplicable("the stream carried no chunks (see CHAT-STREAM-008)", see="CHAT-STREAM-008")
    deltas = [
        choice["delta"]
        for item in found
        for choice in streams.choices_of(item)
        if choice.get("index", 0) == 0 and isinstance(choice.get("delta"), dict)
    ]
    if not deltas:
        raise NotApplicable("the chunks carry no delta (see CHAT-STREAM-014)", see="CHAT-STREAM-014")
    return set().union(*(carried_in(delta) for delta in deltas))


@check("CHAT-REASON-001", needs=("chat", "reasoning"))
def test_reasoning_effort_is_answered_or_declined(chat_reasoning: Exchange) -> None:
    exchange = chat_reasoning
    bounded_in_time(exchange)
    expect.answered(exchange)
    if expect.declined(exchange):
        raise Unsupported(f"reasoning: reasoning_effort declined ({exchange.status} with an error envelope)")
    if not 200 <= (exchange.status or 0) < 300:
        raise Violation(
            "A request with reasoning_effort was neither answered nor declined",
            expected="200 with an answer, or a 4xx with the error envelope declining reasoning_effort (a 5xx is no "
            "decline: openai-python retries it twice)",
            actual=f"{exchange.status} {exchange.reason}; {expect.short(exchange.text, 300)}",
            evidence=exchange,
        )
    first_message(exchange)


def leak(content: Any) -> str | None:
    found = THINK_MARKUP.search(content) if isinstance(content, str) else None
    return found.group(0) if found else None


@check("CHAT-REASON-002", needs=("chat", "reasoning"))
def test_reasoning_never_leaks_into_content(chat_reasoning: Exchange, chat_reasoning_stream: StreamExchange) -> None:
    served(chat_reasoning)
    content = first_message(chat_reasoning).get("content")
    where, exchange, text = "/choices/0/message/content", chat_reasoning, content
    if leak(content) is None:
        served(chat_reasoning_stream)
        where, exchange, text = "the streamed delta.content of choice 0", chat_reasoning_stream, None
        text = streams.content_text(chat_reasoning_stream)
    markup = leak(text)
    if markup is not None:
        raise Violation(
            "The reasoning leaked into the content",
            pointer=where,
            expected="the answer alone; reasoning, where returned, in a field of its own (reasoning_content or "
            "reasoning)",
            actual=f"{markup!r} in {expect.short(text, 200)}",
            evidence=exchange,
        )


@check("CHAT-REASON-003", needs=("chat", "reasoning"))
def test_reasoning_field_is_the_same_streamed_and_not(
    chat_reasoning: Exchange, chat_reasoning_stream: StreamExchange
) -> str:
    served(chat_reasoning)
    served(chat_reasoning_stream)
    message = first_message(chat_reasoning)
    if leak(message.get("content")) or leak(streams.content_text(chat_reasoning_stream)):
        raise NotApplicable(f"the reasoning is in the content (see {LEAK})", see=LEAK)
    answered = carried_in(message)
    streamed = streamed_fields(chat_reasoning_stream)
    if answered != streamed:

        def named(names: set[str]) -> str:
            return " and ".join(sorted(names)) or "no reasoning field"

        raise Violation(
            "The reasoning is carried under another name when streamed",
            pointer="/choices/0/message and the stream's choices[0].delta",
            expected="the same field in both (clients read one name: LangChain's ChatDeepSeek and LiteLLM read "
            "reasoning_content, OpenRouter clients reasoning)",
            actual=f"message: {named(answered)}; deltas: {named(streamed)}",
            evidence=[chat_reasoning, chat_reasoning_stream],
        )
    if not answered:
        return "no reasoning field in the answer or the stream (the reasoning is not returned)"
    return f"reasoning in {' and '.join(sorted(answered))}, streamed and not"
