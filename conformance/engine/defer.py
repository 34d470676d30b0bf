"""One behaviour, one finding, for behaviours that hit every request of a kind.

A provider whose streams never end, or which answers no POST at all, would otherwise fail every check
that reads such a request -- dozens of findings from one cause, and which ones FAIL and which TIMEOUT
would depend on the order the requests happened to go in. The requirement that owns the behaviour
judges it on its own request; every other check whose failure rests on a request that shows the same
behaviour is SKIP "see <owner>" -- but only when the owner's own request showed it too, so a single
runaway request stays the finding of its own requirement.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from conformance.core.results import NotApplicable, Outcome, Violation
from conformance.transport.exchange import Exchange, StreamExchange

if TYPE_CHECKING:
    from conformance.engine.state import RunState


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
    Owner("TRANSPORT-010", "transport_chat_answered", "the POST got no answer", _unanswered_post),
)


def deferred(state: RunState, requirement: str, error: BaseException | None) -> NotApplicable | None:
    """The SKIP "see <owner>" a failure defers to, or None."""
    if not isinstance(error, Violation) or error.outcome not in (Outcome.FAIL, Outcome.TIMEOUT):
        return None
    evidence = [item for item in error.evidence if isinstance(item, Exchange)]
    for owner in OWNERS:
        if owner.requirement == requirement or owner.requirement not in state.collected:
            continue
        found = state.probes.result(owner.probe)
        own = found[0] if found is not None else None
        if isinstance(own, Exchange) and owner.shows(own) and any(owner.shows(item) for item in evidence):
            return NotApplicable(f"{owner.behaviour} (see {owner.requirement})")
    return None
