"""Scores and verdicts: pure functions of per-requirement outcomes.

* **client-compatible**: no MUST requirement FAILed or TIMEd OUT (real clients will work);
* **spec-conformant**: no MUST or SHOULD requirement did.

The score is the weighted share of passed requirements among those that produced a verdict on the
provider (PASS, FAIL, TIMEOUT). MUST weighs 3, SHOULD 1, MAY 0 (informational). UNSUPPORTED and SKIP
are shown but left out; ERROR (our fault) is left out of the score but blocks neither verdict — it is
reported so that it gets fixed, never silently counted as a pass.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from conformance.core.results import Level, Outcome

WEIGHTS = {Level.MUST: 3.0, Level.SHOULD: 1.0, Level.MAY: 0.0}
SCORED = (Outcome.PASS, Outcome.FAIL, Outcome.TIMEOUT)


@dataclass(frozen=True, slots=True)
class Scored:
    """The minimum a score needs to know about one requirement's result."""

    level: Level
    capability: str
    outcome: Outcome


def score(items: Iterable[Scored]) -> float | None:
    """Weighted pass percentage (0–100, one decimal), or None when nothing was scoreable."""
    earned = possible = 0.0
    for item in items:
        if item.outcome not in SCORED:
            continue
        weight = WEIGHTS[item.level]
        possible += weight
        if item.outcome is Outcome.PASS:
            earned += weight
    return None if possible == 0 else round(100.0 * earned / possible, 1)


def failures(items: Iterable[Scored], *levels: Level) -> int:
    return sum(1 for item in items if item.level in levels and item.outcome.is_failure)


def verdicts(items: list[Scored]) -> dict[str, bool]:
    return {
        "client_compatible": failures(items, Level.MUST) == 0,
        "spec_conformant": failures(items, Level.MUST, Level.SHOULD) == 0,
    }


def counts(items: Iterable[Scored]) -> dict[str, int]:
    tally = Counter(item.outcome.value for item in items)
    return {outcome.value: tally.get(outcome.value, 0) for outcome in Outcome}


def by_level(items: list[Scored]) -> dict[str, dict[str, int]]:
    return {level.value: counts(i for i in items if i.level is level) for level in Level}


def by_capability(items: list[Scored]) -> dict[str, dict[str, Any]]:
    capabilities = sorted({item.capability for item in items})
    table: dict[str, dict[str, Any]] = {}
    for capability in capabilities:
        subset = [item for item in items if item.capability == capability]
        table[capability] = {"score": score(subset), "counts": counts(subset), **verdicts(subset)}
    return table


def summarise(items: list[Scored]) -> dict[str, Any]:
    return {
        "score": score(items),
        "verdicts": verdicts(items),
        "counts": counts(items),
        "by_level": by_level(items),
        "by_capability": by_capability(items),
        "must_failures": failures(items, Level.MUST),
        "should_failures": failures(items, Level.SHOULD),
    }
