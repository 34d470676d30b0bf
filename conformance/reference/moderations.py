"""Moderations: a deterministic keyword classifier with the documented result shape.

A category is true when one of its terms occurs as whole words in the input; its score is then in
[0.9, 0.99), otherwise in [0.001, 0.05) (both from a hash, so identical input gives identical scores).
``flagged`` is true exactly when some category is. The seed's seven categories are always present;
the four added later (harassment, harassment/threatening, self-harm/intent, self-harm/instructions)
are returned too, as OpenAI does, so clients of either schema version find what they expect.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any, Final

from .catalog import MODERATIONS, find_model, wrong_endpoint
from .errors import ApiError, missing_parameter, model_not_found
from .params import Reject, as_str, empty_array, invalid_type, invalid_value
from .policy import Policy
from .sse import new_id

__all__ = ["CATEGORIES", "MODEL_ALIASES", "classify", "moderation_response", "validate_moderation"]

#: Seed 002's categories, in its order.
CATEGORIES: Final = (
    "hate",
    "hate/threatening",
    "self-harm",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
LATER_CATEGORIES: Final = ("harassment", "harassment/threatening", "self-harm/intent", "self-harm/instructions")
#: The documented model names, all served by ``ref-moderation``.
MODEL_ALIASES: Final = ("text-moderation-latest", "text-moderation-stable", "omni-moderation-latest")
MAX_INPUTS: Final = 2048  # as many as embeddings take; the toy classifier is cheap

_TERMS: Final[dict[str, tuple[str, ...]]] = {
    "hate": ("i hate them all", "vermin"),
    "hate/threatening": ("exterminate them",),
    "self-harm": ("hurt myself", "end my life"),
    "sexual": ("explicit sexual",),
    "sexual/minors": ("sexual minors",),
    "violence": ("kill", "murder", "stab", "shoot", "attack them"),
    "violence/graphic": ("gore", "dismember"),
    "harassment": ("you idiot", "you loser"),
    "harassment/threatening": ("i will find you",),
    "self-harm/intent": ("i want to hurt myself",),
    "self-harm/instructions": ("how to hurt myself",),
}


def _unit(*parts: str) -> float:
    digest = hashlib.sha256("\x1f".join(parts).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _matches(text: str, term: str) -> bool:
    return re.search(rf"\b{re.escape(term)}\b", text) is not None


def classify(text: str) -> dict[str, Any]:
    """One result: ``{flagged, categories, category_scores}``."""
    lowered = text.lower()
    categories: dict[str, bool] = {}
    scores: dict[str, float] = {}
    for category in (*CATEGORIES, *LATER_CATEGORIES):
        hit = any(_matches(lowered, term) for term in _TERMS[category])
        spread = _unit("moderation", category, text)
        scores[category] = round(0.9 + 0.09 * spread if hit else 0.001 + 0.049 * spread, 6)
        categories[category] = hit
    return {"flagged": any(categories.values()), "categories": categories, "category_scores": scores}


def validate_moderation(body: Any, policy: Policy) -> tuple[list[str], str] | ApiError:
    """The inputs and the model name to report, or the 400/404 to answer."""
    try:
        if not isinstance(body, Mapping):
            raise invalid_type("body", "an object", body)
        if body.get("input") is None:
            raise Reject(missing_parameter("input"))
        raw = body["input"]
        if isinstance(raw, str):
            inputs = [raw]
        elif isinstance(raw, list):
            if not raw:
                raise empty_array("input")
            if len(raw) > MAX_INPUTS:
                raise invalid_value(
                    "input", f"array too long. Expected at most {MAX_INPUTS} items.", "array_above_max_length"
                )
            inputs = [as_str(item, f"input[{index}]") for index, item in enumerate(raw)]
        else:
            raise invalid_type("input", "a string or an array of strings", raw)
        model = "ref-moderation"
        if body.get("model") is not None:
            requested = as_str(body["model"], "model")
            if requested not in MODEL_ALIASES:
                known = find_model(requested)
                if known is None and policy.reject_unknown_models:
                    raise Reject(model_not_found(requested))
                if known is not None and known.endpoint != MODERATIONS and policy.enforce_model_endpoints:
                    raise Reject(wrong_endpoint(known, MODERATIONS))
    except Reject as rejected:
        return rejected.error
    return inputs, model


def moderation_response(inputs: list[str], model: str) -> dict[str, Any]:
    return {"id": new_id("modr"), "model": model, "results": [classify(text) for text in inputs]}
