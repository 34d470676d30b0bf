"""PROP-*: what the property run (schemathesis over spec/openapi.yaml) found, one class per requirement.

The run itself happens once per suite run, in the ``property_run`` probe (conformance/probes/property.py);
each check here reports one class of its findings: the first few as the violation (schemathesis'
failure code and title, the "Received / Expected" message, the operation, a redacted curl reproducer
and the recorded exchange), and how many there were in all.
"""

from __future__ import annotations

from conformance.core.results import NotApplicable, ProviderTimeout, Violation
from conformance.engine import check
from conformance.property import (
    AUTH,
    CONTENT_TYPE,
    EDGE_VALUES,
    ENVELOPE,
    INVALID_INPUT,
    REACHABILITY,
    SCHEMA,
    STATUS,
    VALID_5XX,
    PropertyRun,
)
from conformance.property.results import owner_of_finding

SHOWN = 3  # findings spelled out in one violation; the rest are counted

EXPECTED = {
    SCHEMA: "every answer valid against its schema in spec/openapi.yaml",
    STATUS: "only the status codes the description documents for the operation",
    CONTENT_TYPE: "a Content-Type the description documents for the answer",
    VALID_5XX: "no 5xx for a valid request",
    INVALID_INPUT: "a 4xx for every invalid request",
    AUTH: "401 or 403 without a key and with a wrong key",
    ENVELOPE: 'every 4xx a JSON {"error": {"message": ..., "type": ...}}',
    REACHABILITY: "at least one 2xx per claimed operation",
    EDGE_VALUES: "400 with the error envelope for every documented limit",
}


class PropertyHarnessError(RuntimeError):
    """The property run itself broke (schemathesis or our driver): reported ERROR, never FAIL."""


def report(run: PropertyRun, klass: str) -> None:
    """Raise the violation for one class of findings, or say why the class could not be judged."""
    if run.skipped:
        raise NotApplicable(f"property tests not run: {run.skipped}")
    # The findings of its own first: those of another requirement's behaviour are reported there too.
    findings = sorted(run.failures.get(klass, []), key=lambda f: owner_of_finding(f) is not None)
    if findings:
        first = findings[0]
        total = run.counts.get(klass, len(findings))
        blocks = []
        for finding in findings[:SHOWN]:
            block = f"[{finding.code}] {finding.title} ({finding.operation})\n{finding.message}"
            if finding.reproduce:
                block += f"\nReproduce with:\n    {finding.reproduce}"
            blocks.append(block)
        if total > SHOWN:
            blocks.append(f"… {total - SHOWN} more finding(s) of this kind")
        owners = run.owners.get(klass, set())
        owned = tuple(sorted(o for o in owners if o)) if None not in owners else ()  # each another's
        # Only silence (no answer at all) is a TIMEOUT; any answer that broke the rule is a FAIL.
        kind = ProviderTimeout if all(f.timeout for f in findings) else Violation
        raise kind(
            f"{first.code} {first.title}",
            pointer=first.operation,
            expected=EXPECTED[klass],
            actual=f"{total} finding(s) in {len({f.operation for f in findings})} operation(s)",
            evidence=[f.evidence for f in findings[:SHOWN] if f.evidence is not None],
            detail="\n\n".join(blocks),
            owned_by=owned,
        )
    if run.errors:
        raise PropertyHarnessError("; ".join(run.errors[:3]))
    if run.unanswered or run.blocked:
        # The answers that came were fine, but a provider that goes silent cannot be said to pass.
        raise ProviderTimeout(
            "The provider did not answer every request of the property run",
            expected="an answer to every request within the time limit",
            actual="; ".join([*run.unanswered[:3], *([f"circuit breaker: {run.blocked}"] if run.blocked else [])]),
        )
    if run.budget:
        raise NotApplicable(f"the property run stopped early: {run.budget}")
    if not run.judged.get(klass):
        raise NotApplicable(_nothing_to_judge(run, klass))


def _nothing_to_judge(run: PropertyRun, klass: str) -> str:
    if klass == AUTH:
        return "no key is configured, or no operation answered 2xx: nothing shows whether the key is enforced"
    if klass == ENVELOPE:
        return "no operation answered 4xx"
    return "no answer of this kind occurred"


@check("PROP-001")
def test_responses_match_the_documented_schemas(property_run: PropertyRun) -> None:
    report(property_run, SCHEMA)


@check("PROP-002")
def test_only_documented_status_codes(property_run: PropertyRun) -> None:
    report(property_run, STATUS)


@check("PROP-003")
def test_answers_carry_a_documented_content_type(property_run: PropertyRun) -> None:
    report(property_run, CONTENT_TYPE)


@check("PROP-004")
def test_valid_requests_never_get_a_server_error(property_run: PropertyRun) -> None:
    report(property_run, VALID_5XX)


@check("PROP-005")
def test_invalid_requests_are_refused_with_a_4xx(property_run: PropertyRun) -> None:
    report(property_run, INVALID_INPUT)


@check("PROP-006")
def test_every_operation_enforces_the_key(property_run: PropertyRun) -> None:
    report(property_run, AUTH)


@check("PROP-007")
def test_every_4xx_carries_the_error_envelope(property_run: PropertyRun) -> None:
    report(property_run, ENVELOPE)


@check("PROP-008")
def test_every_claimed_operation_answers_2xx(property_run: PropertyRun) -> None:
    report(property_run, REACHABILITY)


@check("PROP-009")
def test_documented_limits_are_refused(property_run: PropertyRun) -> None:
    report(property_run, EDGE_VALUES)
