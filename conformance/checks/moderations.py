"""MOD-*: moderations (seed 002 "Moderations"; legacy CreateModerationResponse schema).

What a schema cannot say is checked here: ``flagged`` agrees with the categories, scores are
probabilities, an array input gets one result per string, and the documented example is classified.
"""

from __future__ import annotations

from typing import Any

from conformance import expect
from conformance.core.results import NotApplicable, Violation
from conformance.engine import check
from conformance.probes.endpoints import MODERATION_FLAGGED
from conformance.transport.exchange import Exchange

WHAT = "POST /moderations"


#: Seed 002's categories (later API versions add more; extra keys are fine).
CATEGORIES = ("hate", "hate/threatening", "self-harm", "sexual", "sexual/minors", "violence", "violence/graphic")


def results(exchange: Exchange) -> list[dict[str, Any]]:
    """The results whose shape MOD-001 accepts; NotApplicable otherwise (one rule, one verdict)."""
    expect.success(exchange, WHAT)
    try:
        body = exchange.json()
    except (ValueError, UnicodeDecodeError):
        raise NotApplicable("the answer is not JSON (see MOD-001)") from None
    items = body.get("results") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(item, dict) for item in items):
        raise NotApplicable("no results array of objects (see MOD-001)")
    return items


def mapping(result: dict[str, Any], key: str) -> dict[str, Any]:
    value = result.get(key)
    if not isinstance(value, dict):
        raise NotApplicable(f"no {key} object (see MOD-001)")
    return value


@check("MOD-001", needs="moderations")
def test_moderation_answers_id_model_and_results(moderation_single: Exchange) -> None:
    exchange = moderation_single
    expect.success(exchange, WHAT)
    body = expect.json_object(exchange)
    expect.field(body, "id", str, "", exchange)
    expect.field(body, "model", str, "", exchange)
    items = expect.field(body, "results", list, "", exchange)
    if not items:
        raise Violation(
            "No results", pointer="/results", expected="one result per input", actual="[]", evidence=exchange
        )
    for index, item in enumerate(items):
        pointer = f"/results/{index}"
        if not isinstance(item, dict):
            raise Violation(
                "A result is not an object",
                pointer=pointer,
                expected="an object",
                actual=expect.short(item),
                evidence=exchange,
            )
        expect.field(item, "flagged", bool, pointer, exchange)
        expect.field(item, "categories", dict, pointer, exchange)
        expect.field(item, "category_scores", dict, pointer, exchange)


@check("MOD-002", needs="moderations")
def test_categories_carry_every_documented_category(moderation_single: Exchange) -> None:
    for index, result in enumerate(results(moderation_single)):
        categories = mapping(result, "categories")
        for name in CATEGORIES:
            if not isinstance(categories.get(name), bool):
                raise Violation(
                    "A documented moderation category is missing or not a boolean",
                    pointer=f"/results/{index}/categories/{name}",
                    expected=f'"{name}": true|false',
                    actual=expect.short(categories.get(name, "(missing)"))
                    + f"; keys: {expect.short(sorted(categories))}",
                    evidence=moderation_single,
                )


@check("MOD-003", needs="moderations")
def test_category_scores_are_probabilities(moderation_single: Exchange) -> None:
    for index, result in enumerate(results(moderation_single)):
        scores = mapping(result, "category_scores")
        for name in CATEGORIES:
            score = scores.get(name)
            if not expect.is_type(score, (int, float)) or not 0 <= score <= 1:
                raise Violation(
                    "A category score is missing or not a probability",
                    pointer=f"/results/{index}/category_scores/{name}",
                    expected="a number from 0 to 1",
                    actual=expect.short(scores.get(name, "(missing)")),
                    evidence=moderation_single,
                )


@check("MOD-004", needs="moderations")
def test_flagged_agrees_with_the_categories(moderation_single: Exchange, moderation_batch: Exchange) -> None:
    for exchange in (moderation_single, moderation_batch):
        for index, result in enumerate(results(exchange)):
            categories = mapping(result, "categories")
            flagged = result.get("flagged")
            expected = any(value is True for value in categories.values())
            if flagged is not expected:
                raised = sorted(name for name, value in categories.items() if value is True)
                raise Violation(
                    "flagged disagrees with the categories",
                    pointer=f"/results/{index}/flagged",
                    expected=f"{str(expected).lower()} (true exactly when a category is true; true: {raised})",
                    actual=expect.short(flagged),
                    evidence=exchange,
                )


@check("MOD-005", needs="moderations")
def test_one_result_per_input(moderation_batch: Exchange) -> None:
    items = results(moderation_batch)
    if len(items) != 2:
        raise Violation(
            "Not one result per input",
            pointer="/results",
            expected="2 results for an input array of 2 strings",
            actual=f"{len(items)}",
            evidence=moderation_batch,
        )


@check("MOD-006", needs="moderations")
def test_documented_example_is_classified_as_violence(moderation_single: Exchange) -> None:
    categories = mapping(results(moderation_single)[0], "categories")
    if "violence" not in categories:
        raise NotApplicable("no violence category (see MOD-002)")
    if categories["violence"] is not True:
        raise Violation(
            "The documented example is not classified as violence",
            pointer="/results/0/categories/violence",
            expected=f"true for {MODERATION_FLAGGED!r} (seed 002's example answer)",
            actual=expect.short(categories["violence"]),
            evidence=moderation_single,
        )
