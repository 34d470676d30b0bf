"""Judging one check: preconditions, the probes it reads, and what it raised, as a typed outcome.

A ``Violation`` is FAIL (a ``ProviderTimeout`` TIMEOUT), ``Unsupported`` is UNSUPPORTED,
``NotApplicable`` or a spent budget is SKIP, and anything else is ERROR: a bug of ours, never blamed on
the provider. Checks are pure: they read recorded exchanges and raise; judging one twice gives the
same result.

A MAY is never a failure: a provider that does not offer what a MAY requirement describes is within the
contract, so a Violation of a MAY requirement is SKIP "not offered (MAY): <title>" (decided here, once,
for every check; a timeout stays a TIMEOUT). A failure that rests on a request showing a behaviour another
requirement owns for every request of its kind (streams that never end, POSTs never answered) is SKIP
"see <owner>" (:mod:`conformance.engine.deferral`).
"""

from __future__ import annotations

import time
import traceback
from typing import Any

from conformance.core.catalogue import DECLARABLE_CAPABILITIES
from conformance.core.results import (
    CheckResult,
    Evidence,
    Level,
    NotApplicable,
    Outcome,
    Unsupported,
    Violation,
    violation_to_dict,
)
from conformance.engine.deferral import deferred_by_kind
from conformance.engine.registry import CASE, ROOT, CheckDef
from conformance.engine.state import RunState
from conformance.target import MODEL_CAPABILITIES
from conformance.transport.exchange import Exchange, Redactor
from conformance.transport.limits import BudgetExhausted

DECLARED_ABSENT = "not among the declared capabilities (--capabilities)"
NOT_OFFERED = "not offered (MAY)"


def preconditions(state: RunState, definition: CheckDef) -> None:
    """Raise Unsupported or NotApplicable when the check's ``needs`` are not met."""
    declared = state.target.capabilities
    if declared is not None:
        capability = state.catalogue[definition.requirement].capability
        for need in dict.fromkeys((*definition.needs, capability)):
            if need in DECLARABLE_CAPABILITIES and need not in declared:
                raise Unsupported(f"{need}: {DECLARED_ABSENT}")
    for need in definition.needs:
        if need not in MODEL_CAPABILITIES:
            continue  # endpoint families without a model: the check's probes find out
        choice = state.model_choice(need)
        if choice.status == "unsupported":
            raise Unsupported(f"{need}: {choice.detail}")
        if choice.model is None:
            raise NotApplicable(f"no model for {need}: {choice.detail}")


def evidence_of(items: tuple[Any, ...], redact: Redactor) -> list[Evidence]:
    evidence: list[Evidence] = []
    for item in items:
        if isinstance(item, Exchange):
            evidence.append(item.evidence(redact))
        elif isinstance(item, Evidence):
            evidence.append(item)
    return evidence


def classify(exc: BaseException | None, redact: Redactor) -> tuple[Outcome, str, dict[str, Any] | None]:
    """Map what a check raised to an outcome, a one-line message and the violation record."""
    if exc is None:
        return Outcome.PASS, "", None
    if isinstance(exc, Violation):
        record = violation_to_dict(exc, evidence_of(exc.evidence, redact))
        return exc.outcome, redact(exc.message), redact.walk(record)
    if isinstance(exc, Unsupported):
        return Outcome.UNSUPPORTED, redact(str(exc)), None
    if isinstance(exc, NotApplicable | BudgetExhausted):
        return Outcome.SKIP, redact(str(exc)), None
    # Anything else is a bug in the suite, not the provider's failure.
    where = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return Outcome.ERROR, redact(f"harness error: {where}"), None


def call(state: RunState, definition: CheckDef) -> Any:
    """Run the check's body: its probes first (what a probe raised is the check's outcome, as for a
    shared fixture), then its preconditions, then the function. What it returns: a passing check may
    return a note (a string: what it observed, e.g. which field carried the reasoning)."""
    args: dict[str, Any] = {}
    for name in definition.argnames:
        args[name] = state if name == ROOT else state.probes.get(name)
    preconditions(state, definition)
    if definition.case is not None:
        args[CASE] = definition.value
    return definition.func(**args)


def optional_absent(error: BaseException | None, level: Level) -> NotApplicable | None:
    """A MAY requirement's failure, as the SKIP it is: the behaviour is optional, its absence no finding."""
    if level is Level.MAY and isinstance(error, Violation) and error.outcome is Outcome.FAIL:
        return NotApplicable(f"{NOT_OFFERED}: {error.title}")
    return None


def judge(state: RunState, definition: CheckDef) -> CheckResult:
    started = time.perf_counter()
    note: Any = None
    try:
        note = call(state, definition)
        error: BaseException | None = None
    except Exception as exc:
        error = exc
    error = optional_absent(error, state.catalogue[definition.requirement].level) or error
    error = deferred_by_kind(state, definition.requirement, error) or error
    outcome, message, violation = classify(error, state.client.redact)
    if outcome is Outcome.PASS and isinstance(note, str):
        message = state.client.redact(note)
    return CheckResult(
        requirement=definition.requirement,
        check=definition.name,
        outcome=outcome,
        duration_s=time.perf_counter() - started,
        message=message,
        violation=violation,
        see=error.see if isinstance(error, NotApplicable) else None,
        owned_by=error.owned_by if isinstance(error, Violation) and outcome is Outcome.FAIL else (),
    )
