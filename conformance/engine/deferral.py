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

A behaviour that hits every request of a kind (streams that never end, POSTs never answered) is
deferred by what the check's evidence shows instead (:data:`OWNERS`, :func:`deferred_by_kind`, at
judging time): every check whose failure rests on such a request is SKIP "see <owner>" -- but only when
the owner's own request showed it too, so a single runaway request stays the finding of its own
requirement, and which checks FAIL does not depend on the order the requests happened to go in.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from conformance.core.catalogue import Catalogue
from conformance.core.results import CheckResult, NotApplicable, Outcome, Violation, aggregate
from conformance.transport.exchange import Exchange, StreamExchange

if TYPE_CHECKING:
    from conformance.engine.state import RunState


def owner_of(
    requirement_id: str, outcome_of: Callable[[str], Outcome], catalogue: Catalogue, owned_by: Sequence[str] = ()
) -> str | None:
    """The requirement that reports ``requirement_id``'s behaviour, when one FAILs: the root of the first
    failing chain of owners, in catalogue order; None when the failure is its own finding. ``owned_by``:
    the owners of every behaviour one failure reports (a property run's findings, each another
    requirement's); when all of them FAIL, the first reports it."""
    for owner in catalogue.primaries(requirement_id):
        if outcome_of(owner) is Outcome.FAIL:
            return owner_of(owner, outcome_of, catalogue) or owner
    if owned_by and all(outcome_of(owner) is Outcome.FAIL for owner in owned_by):
        return owner_of(owned_by[0], outcome_of, catalogue) or owned_by[0]
    return None


def see_message(owner: str, message: str) -> str:
    first = message.splitlines()[0] if message else ""
    return f"see {owner} (the same behaviour): {first}" if first else f"see {owner} (the same behaviour)"


def deferred(result: CheckResult, owner: str) -> CheckResult:
    """``result``'s failure, reported under ``owner``: SKIP "see <owner>", its violation kept (the message
    names every owner of a failure that reports several behaviours)."""
    named = ", ".join(result.owned_by) if owner in result.owned_by[:1] and len(result.owned_by) > 1 else owner
    return replace(result, outcome=Outcome.SKIP, message=see_message(named, result.message), see=owner)


def defer(results: Sequence[CheckResult], catalogue: Catalogue) -> tuple[CheckResult, ...]:
    """``results`` with every failure whose behaviour another failing requirement owns made SKIP "see"."""
    by_requirement: dict[str, list[Outcome]] = {}
    for result in results:
        by_requirement.setdefault(result.requirement, []).append(result.outcome)
    outcomes = {rid: aggregate(found) for rid, found in by_requirement.items()}

    def outcome_of(rid: str) -> Outcome:
        return outcomes.get(rid, Outcome.SKIP)

    owned_by: dict[str, tuple[str, ...]] = {}
    for result in results:
        if result.outcome is Outcome.FAIL:
            owned_by[result.requirement] = result.owned_by if result.requirement not in owned_by else ()
    owners: dict[str, str | None] = {}
    for rid, outcome in outcomes.items():
        if outcome is Outcome.FAIL and rid in catalogue:
            owners[rid] = owner_of(rid, outcome_of, catalogue, owned_by.get(rid, ()))
    return tuple(
        deferred(result, owner)
        if result.outcome is Outcome.FAIL and (owner := owners.get(result.requirement)) is not None
        else result
        for result in results
    )


# -- behaviours of every request of a kind ----------------------------------------------------------------


def _endless(exchange: Exchange) -> bool:
    """A stream the suite stopped reading because it would not end (or not sent: such streams were dead)."""
    if not isinstance(exchange, StreamExchange):
        return False
    return exchange.cut_short is not None or (exchange.not_sent and "did not end" in exchange.error_detail)


def _unanswered_post(exchange: Exchange) -> bool:
    """A POST that got no answer at all: no status line in time, or not sent (its scope got none)."""
    return exchange.method == "POST" and exchange.status is None and exchange.error == "timeout"


@dataclass(frozen=True)
class Owner:
    """A requirement that owns a behaviour every request of a kind can show, and the probe it judges."""

    requirement: str
    probe: str
    behaviour: str
    shows: Callable[[Exchange], bool]


OWNERS = (
    Owner("TRANSPORT-003", "transport_stream_ends", "the stream did not end", _endless),
    Owner("TRANSPORT-012", "transport_chat_answered", "the POST got no answer", _unanswered_post),
)


def deferred_by_kind(state: RunState, requirement: str, error: BaseException | None) -> NotApplicable | None:
    """The SKIP "see <owner>" a failure whose request shows a behaviour of every request of its kind
    defers to, or None."""
    if not isinstance(error, Violation) or error.outcome not in (Outcome.FAIL, Outcome.TIMEOUT):
        return None
    evidence = [item for item in error.evidence if isinstance(item, Exchange)]
    for owner in OWNERS:
        if owner.requirement == requirement or owner.requirement not in state.collected:
            continue
        found = state.probes.result(owner.probe)
        own = found[0] if found is not None else None
        if isinstance(own, Exchange) and owner.shows(own) and any(owner.shows(item) for item in evidence):
            return NotApplicable(f"{owner.behaviour} (see {owner.requirement})", see=owner.requirement)
    return None
