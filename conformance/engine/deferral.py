"""One behaviour, one finding: a failure that another requirement already reports becomes SKIP "see ID".

A provider that answers errors as ``{"detail": ...}`` breaks the error envelope (ERR-001); the checks of
the unknown route, the wrong method and the SDK error mapping trip over the same body. Reported as six
failures, one behaviour would count six times against the provider. The catalogue says which
requirement owns a behaviour: a requirement's ``see_also`` lists the requirements whose checks trip over
it. When the owner FAILs, a FAIL of one of those is reported SKIP "see <owner>", its violation and
evidence kept (the SDK checks' SKIP still shows how the client broke: it is what ``shown_by`` points
at). When the owner passes, the other requirement's failure is its own finding.

Deferral follows chains to their root (URL-001 defers to ERR-012, which defers to ERR-001) and only
ever to a FAIL: a TIMEOUT, an ERROR of ours or a SKIP owns nothing. It is a pure function of the
outcomes by requirement, applied once per run (:func:`defer`) and, for pytest's one item at a time, per
requirement with the owners' outcomes judged on demand (:func:`owner_of`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from conformance.core.catalogue import Catalogue
from conformance.core.results import CheckResult, Outcome, aggregate


def owner_of(requirement_id: str, outcome_of: Callable[[str], Outcome], catalogue: Catalogue) -> str | None:
    """The requirement that reports ``requirement_id``'s behaviour, when one FAILs: the root of the first
    failing chain of owners, in catalogue order; None when the failure is its own finding."""
    for owner in catalogue.primaries(requirement_id):
        if outcome_of(owner) is Outcome.FAIL:
            return owner_of(owner, outcome_of, catalogue) or owner
    return None


def see_message(owner: str, message: str) -> str:
    first = message.splitlines()[0] if message else ""
    return f"see {owner} (the same behaviour): {first}" if first else f"see {owner} (the same behaviour)"


def deferred(result: CheckResult, owner: str) -> CheckResult:
    """``result``'s failure, reported under ``owner``: SKIP "see <owner>", its violation kept."""
    return replace(result, outcome=Outcome.SKIP, message=see_message(owner, result.message), see=owner)


def defer(results: Sequence[CheckResult], catalogue: Catalogue) -> tuple[CheckResult, ...]:
    """``results`` with every failure whose behaviour another failing requirement owns made SKIP "see"."""
    by_requirement: dict[str, list[Outcome]] = {}
    for result in results:
        by_requirement.setdefault(result.requirement, []).append(result.outcome)
    outcomes = {rid: aggregate(found) for rid, found in by_requirement.items()}

    def outcome_of(rid: str) -> Outcome:
        return outcomes.get(rid, Outcome.SKIP)

    owners: dict[str, str | None] = {}
    for rid, outcome in outcomes.items():
        if outcome is Outcome.FAIL and rid in catalogue:
            owners[rid] = owner_of(rid, outcome_of, catalogue)
    return tuple(
        deferred(result, owner)
        if result.outcome is Outcome.FAIL and (owner := owners.get(result.requirement)) is not None
        else result
        for result in results
    )
