"""What a run measured: outcomes, violations, evidence and per-requirement results.

The vocabulary, from best to worst for a provider::

    PASS         the provider met the requirement
    SKIP         not applicable to this configuration (no model for the capability, budget spent, ...)
    UNSUPPORTED  the provider honestly declines the capability (404/501 with an error envelope, or the
                 user says it does not claim it); shown in reports, left out of scores
    ERROR        our harness broke (a bug in a check, a crashed fixture); never the provider's fault
    TIMEOUT      the provider did not answer within the configured time
    FAIL         the provider broke the contract; a Violation says how, with the recorded evidence

Outcome and level (MUST/SHOULD/MAY) are orthogonal: a failed SHOULD is still FAIL; the level only
changes scores and gates.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Outcome(StrEnum):
    PASS = "PASS"
    FAIL = "FAIL"
    ERROR = "ERROR"
    TIMEOUT = "TIMEOUT"
    UNSUPPORTED = "UNSUPPORTED"
    SKIP = "SKIP"

    @property
    def is_failure(self) -> bool:
        """The provider's fault: counts against verdicts and scores."""
        return self in (Outcome.FAIL, Outcome.TIMEOUT)


# When several checks serve one requirement, the requirement takes the most telling outcome: a real
# failure beats a timeout, which beats our own error; a pass beats "not applicable".
_AGGREGATION_ORDER = (Outcome.FAIL, Outcome.TIMEOUT, Outcome.ERROR, Outcome.PASS, Outcome.UNSUPPORTED, Outcome.SKIP)


def aggregate(outcomes: list[Outcome]) -> Outcome:
    """The outcome of a requirement from the outcomes of its checks; no outcome at all is ERROR."""
    for candidate in _AGGREGATION_ORDER:
        if candidate in outcomes:
            return candidate
    return Outcome.ERROR


def requirement_outcome(checks: list[CheckResult]) -> Outcome:
    """A requirement's outcome from its checks' results: as :func:`aggregate`, except that a failure
    reported under another requirement (SKIP "see ID") is not outvoted by a passing case."""
    found = [check.outcome for check in checks]
    if any(check.see for check in checks) and not any(outcome.is_failure for outcome in found):
        return Outcome.SKIP
    return aggregate(found)


class Level(StrEnum):
    """RFC 2119 levels. MUST breaks real clients; SHOULD is strict conformance; MAY is informational."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


@dataclass(frozen=True, slots=True)
class Evidence:
    """One recorded exchange, already redacted, as it appears in a report.

    The request is kept whole -- every header, the full body (``request_body``, or
    ``request_body_base64`` when it is not UTF-8) and the auth kind it carried -- so that it can be sent
    again exactly; the answer is an excerpt that says how many bytes came (``body_bytes``) and whether
    our size cap stopped reading (``body_truncated``).
    """

    method: str
    url: str
    status: int | None
    request_headers: dict[str, str] = field(default_factory=dict)
    request_body: str | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    body_excerpt: str | None = None
    sse_lines: tuple[str, ...] = ()
    elapsed_s: float | None = None
    error: str | None = None
    auth: str | None = None  # "valid", "wrong", "none" or "other" (conformance.transport.auth.AuthKind)
    request_body_base64: str | None = None
    request_body_bytes: int | None = None
    request_body_redacted: bool = False  # a secret in the body was replaced: its bytes differ from those sent
    body_bytes: int | None = None
    body_truncated: bool = False

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "method": self.method,
            "url": self.url,
            "status": self.status,
            "auth": self.auth,
            "request_headers": dict(self.request_headers),
            "request_body": self.request_body,
            "request_body_bytes": self.request_body_bytes,
            "response_headers": dict(self.response_headers),
            "body_excerpt": self.body_excerpt,
            "body_bytes": self.body_bytes,
            "body_truncated": self.body_truncated,
            "sse_lines": list(self.sse_lines),
            "elapsed_s": self.elapsed_s,
            "error": self.error,
        }
        if self.request_body_base64 is not None:
            data["request_body_base64"] = self.request_body_base64
        if self.request_body_redacted:
            data["request_body_redacted"] = True
        return data


class Violation(AssertionError):
    """The provider broke the contract. Raised by checks; becomes a FAIL with its evidence.

    ``title`` is fixed per kind of failure; ``expected`` and ``actual`` are short, human-readable;
    ``pointer`` locates the problem (a JSON pointer, or "event #3"); ``evidence`` is the exchange (or
    exchanges) that show it.
    """

    outcome = Outcome.FAIL

    def __init__(
        self,
        title: str,
        *,
        expected: str | None = None,
        actual: str | None = None,
        pointer: str | None = None,
        evidence: Any = None,
        detail: str | None = None,
        owned_by: tuple[str, ...] = (),
    ) -> None:
        self.title = title
        # The requirements that own every behaviour this violation reports, when each is another's (a
        # property run's findings): failing themselves, they report it and this is SKIP "see".
        self.owned_by = owned_by
        self.expected = expected
        self.actual = actual
        self.pointer = pointer
        self.detail = detail
        if evidence is None:
            self.evidence: tuple[Any, ...] = ()
        elif isinstance(evidence, list | tuple):
            self.evidence = tuple(evidence)
        else:
            self.evidence = (evidence,)
        super().__init__(self.message)

    @property
    def message(self) -> str:
        parts = [self.title]
        if self.pointer:
            parts.append(f"At: {self.pointer}")
        if self.expected is not None:
            parts.append(f"Expected: {self.expected}")
        if self.actual is not None:
            parts.append(f"Received: {self.actual}")
        if self.detail:
            parts.append(self.detail)
        return "\n".join(parts)


class ProviderTimeout(Violation):
    """The provider did not answer (or did not finish answering) within the configured limits."""

    outcome = Outcome.TIMEOUT


class Unsupported(Exception):
    """The provider honestly declines the capability; the check is reported UNSUPPORTED."""


class NotApplicable(Exception):
    """The check does not apply to this configuration; reported SKIP with the reason. ``see``: the
    requirement that reports what made it inapplicable (one behaviour, one finding)."""

    def __init__(self, reason: str, *, see: str | None = None) -> None:
        super().__init__(reason)
        self.see = see


@dataclass(frozen=True, slots=True)
class CheckResult:
    """The outcome of one check function (one pytest item) for one requirement."""

    requirement: str
    check: str
    outcome: Outcome
    duration_s: float
    message: str = ""
    violation: dict[str, Any] | None = None
    #: The requirement that reports this behaviour (a SKIP "see ID"; conformance/engine/deferral.py).
    see: str | None = None
    #: The requirements that own every behaviour of this failure (Violation.owned_by).
    owned_by: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        found = {
            "check": self.check,
            "outcome": self.outcome.value,
            "duration_s": round(self.duration_s, 4),
            "message": self.message,
            "violation": self.violation,
        }
        if self.see:
            found["see"] = self.see
        return found


def violation_to_dict(violation: Violation, evidence: list[Evidence]) -> dict[str, Any]:
    return {
        "title": violation.title,
        "expected": violation.expected,
        "actual": violation.actual,
        "pointer": violation.pointer,
        "detail": violation.detail,
        "evidence": [item.to_dict() for item in evidence],
    }
