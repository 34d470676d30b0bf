"""Faults of moderations (MOD-*).

Most faults act on one route only, so that one fault breaks one rule; the ``*-unsupported-*``
variation models a provider that honestly does not offer the endpoint (404/501 with the error
envelope), which the suite must report UNSUPPORTED and never FAIL.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp

from ._asgi import declined
from ._registry import fault, variation


@fault(
    "moderation-results-object",
    site="moderations.response",
    summary="results is a single object instead of an array of results.",
    seen_in="hand-written moderation shims that classify one input",
)
def _moderation_results_object(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    results = value.get("results") or [{}]
    return {**value, "results": results[0]}


def _underscored(mapping: dict[str, Any]) -> dict[str, Any]:
    return {key.replace("/", "_").replace("-", "_"): item for key, item in mapping.items()}


@fault(
    "moderation-categories-underscored",
    site="moderations.response",
    summary='Category keys use SDK attribute names ("self_harm", "hate_threatening"), not the wire names.',
    seen_in="servers that serialise openai-python's pydantic models without by_alias=True",
)
def _moderation_categories_underscored(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    def rename(result: dict[str, Any]) -> dict[str, Any]:
        return {
            **result,
            "categories": _underscored(result.get("categories", {})),
            "category_scores": _underscored(result.get("category_scores", {})),
        }

    return {**value, "results": [rename(result) for result in value.get("results", [])]}


@fault(
    "moderation-scores-percent",
    site="moderations.response",
    summary="category_scores are percentages (0-100), not probabilities (0-1).",
    seen_in="moderation adapters over classifiers that report percentages",
)
def _moderation_scores_percent(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    def scale(result: dict[str, Any]) -> dict[str, Any]:
        scores = {key: round(score * 100, 4) for key, score in result.get("category_scores", {}).items()}
        return {**result, "category_scores": scores}

    return {**value, "results": [scale(result) for result in value.get("results", [])]}


@fault(
    "moderation-flagged-false",
    site="moderations.response",
    summary="flagged is always false, even when a category is true.",
    seen_in="adapters that compute categories but hard-code flagged",
)
def _moderation_flagged_false(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    return {**value, "results": [{**result, "flagged": False} for result in value.get("results", [])]}


@fault(
    "moderation-first-input-only",
    site="moderations.response",
    summary="An array input is classified as its first string only: one result for several inputs.",
    seen_in="moderation shims that read input as a string",
)
def _moderation_first_input_only(value: dict[str, Any], *, request: Any = None, **_: Any) -> dict[str, Any]:
    if isinstance(request, dict) and isinstance(request.get("input"), list):
        return {**value, "results": value.get("results", [])[:1]}
    return value


@fault(
    "moderation-never-flags",
    site="moderations.response",
    summary="A stub classifier: every category false and every score 0, whatever the input.",
    seen_in="OpenAI-compatible servers that expose /moderations as a placeholder",
)
def _moderation_never_flags(value: dict[str, Any], **_: Any) -> dict[str, Any]:
    def clear(result: dict[str, Any]) -> dict[str, Any]:
        return {
            "flagged": False,
            "categories": dict.fromkeys(result.get("categories", {}), False),
            "category_scores": dict.fromkeys(result.get("category_scores", {}), 0.0),
        }

    return {**value, "results": [clear(result) for result in value.get("results", [])]}


@variation(
    "moderations-unsupported-501",
    site="asgi",
    summary="The provider does not offer moderations: 501 with the error envelope.",
    seen_in="gateways that list the route but have no classifier behind it",
)
def _moderations_unsupported(value: ASGIApp, **_: Any) -> ASGIApp:
    return declined(value, prefix="moderations", status=501)
