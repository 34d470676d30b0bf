"""CMPL-*: the completions endpoint (seed 002 "Completions"; seed 000 fine-tuned GPT-3 models live here)."""

from __future__ import annotations

from typing import Any

from conformance import builders, expect
from conformance.core.results import Violation
from conformance.engine import check
from conformance.probes.completions import PROMPTS
from conformance.transport.exchange import Exchange

FINISH_REASONS = ("stop", "length", "content_filter")


def completion_object(exchange: Exchange) -> dict[str, Any]:
    expect.success(exchange, "POST /completions")
    return expect.json_object(exchange)


@check("CMPL-001", needs="completions")
def test_completion_has_text_completion_shape(completion_response: Exchange) -> None:
    exchange = completion_response
    expect.status(exchange, 200)
    body = expect.json_object(exchange)
    if body.get("object") != "text_completion":
        raise Violation(
            'Wrong "object"',
            pointer="/object",
            expected='"text_completion"',
            actual=expect.short(body.get("object", "(missing)")),
            evidence=exchange,
        )
    expect.field(body, "id", str, "", exchange)
    expect.field(body, "created", int, "", exchange)
    expect.field(body, "model", str, "", exchange)
    for index, choice in enumerate(expect.choices(body, exchange)):
        pointer = f"/choices/{index}"
        expect.field(choice, "text", str, pointer, exchange)
        expect.field(choice, "index", int, pointer, exchange)
        if choice.get("finish_reason") not in FINISH_REASONS:
            raise Violation(
                "finish_reason is not a documented value",
                pointer=f"{pointer}/finish_reason",
                expected=" | ".join(FINISH_REASONS),
                actual=expect.short(choice.get("finish_reason")),
                evidence=exchange,
            )


@check("CMPL-002", needs="completions")
def test_completion_usage_adds_up(completion_response: Exchange) -> None:
    counts = expect.usage(completion_object(completion_response), completion_response)
    expect.usage_adds_up(counts, completion_response)


@check("CMPL-003", needs="completions")
def test_completion_choices_carry_logprobs(completion_response: Exchange) -> None:
    body = completion_object(completion_response)
    for index, choice in enumerate(expect.choices(body, completion_response)):
        if "logprobs" not in choice:
            raise Violation(
                "A choice lacks the logprobs key",
                pointer=f"/choices/{index}/logprobs",
                expected="present (null when not requested)",
                actual="missing",
                evidence=completion_response,
            )


@check("CMPL-004", needs="completions")
def test_prompt_array_gives_one_choice_per_prompt(completion_prompt_array: Exchange) -> None:
    exchange = completion_prompt_array
    body = completion_object(exchange)
    indexes = sorted(choice.get("index") for choice in expect.choices(body, exchange))
    if indexes != list(range(len(PROMPTS))):
        raise Violation(
            "An array of prompts was not completed prompt by prompt",
            pointer="/choices",
            expected=f"indexes {list(range(len(PROMPTS)))}",
            actual=f"indexes {indexes}",
            evidence=exchange,
        )


@check("CMPL-005", needs="completions")
def test_echo_returns_prompt_first(completion_echo: Exchange) -> None:
    exchange = completion_echo
    body = completion_object(exchange)
    for index, choice in enumerate(expect.choices(body, exchange)):
        text = choice.get("text")
        if not isinstance(text, str) or not text.startswith(builders.COMPLETION_PROMPT):
            raise Violation(
                "echo did not return the prompt",
                pointer=f"/choices/{index}/text",
                expected=f"text starting with {builders.COMPLETION_PROMPT!r}",
                actual=expect.short(text),
                evidence=exchange,
            )


@check("CMPL-006", needs="completions")
def test_completion_max_tokens_bounds_completion(completion_max_tokens_2: Exchange) -> None:
    exchange = completion_max_tokens_2
    counts = expect.usage(completion_object(exchange), exchange)
    expect.completion_tokens_at_most(counts, 2, exchange)
