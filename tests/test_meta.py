"""Meta-tests: every check can fail, and fails only for the faults that say so.

* the clean reference provider passes every requirement;
* for every fault, the requirements whose checks see it are exactly those whose catalogue entry lists
  it -- so each check is shown to catch what it claims, and no check fires on a deviation it does not
  own; and one behaviour is one finding: of those, the ones another listed requirement owns (its
  ``see_also``) SKIP "see ID" with their violation kept, and only the others FAIL -- one per fault, but
  for the few faults that are several behaviours at once (:data:`SEVERAL_BEHAVIOURS`);
* and they are exactly the fault's row of ``tests/fixtures/fault_table.json``: the table of full runs
  of every fault, made from the code before the engine existed (``scripts/fault_table.py``). A
  change that moves a verdict changes the table in the same commit, reviewed.

Faults are judged through the engine in-process (``tests/scoped_runs.py``): the clean run records
which fault sites each probe's requests pass; a fault re-sends only the probes its site can reach
and re-judges the checks that read them. ``tests/test_meta_end_to_end.py`` keeps whole runs over real
sockets through the CLI for the clean provider, every variation, one fault per site and every
timing fault; ``tests/test_hostile.py`` runs each hostile fault whole.

A MAY requirement is the other exception: a MAY is never a failure (conformance/engine/judge.py), so
its proving fault makes it SKIP with "not offered (MAY): <title>" instead of FAIL, and it is in no row
of the table. That SKIP is what the tests ask of it, so its check is still shown to see the behaviour.

The property requirements (tagged "property") are the exception: the property run judges every
answer of every operation, so it also notices most deviations a hand-written check owns, and listing
every fault on them would say nothing. A fault they list must make them FAIL; for any other fault they
are left out of the comparison and out of the run. They run for the clean provider and, in the whole
CLI runs of test_meta_end_to_end.py, for every legal variation, which must pass them.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from conformance.core.catalogue import load_catalogue
from conformance.core.results import CheckResult, Level, Outcome
from conformance.engine.deferral import owner_of
from conformance.engine.judge import NOT_OFFERED
from conformance.reference import FAULTS, ReferenceServer
from tests.scoped_runs import CleanRun, clean_run, failing, outcomes, scoped_run
from tests.suite_runs import HOSTILE_ONE_REQUEST, PROPERTY, PROPERTY_FAULTS
from tests.test_meta_end_to_end import CASES as END_TO_END

CATALOGUE = load_catalogue()
DECLARED: dict[str, set[str]] = {}
for _requirement in CATALOGUE.active:
    for _fault in _requirement.faults:
        DECLARED.setdefault(_fault, set()).add(_requirement.id)
VARIATIONS = sorted(name for name, fault in FAULTS.items() if fault.legal)
# A MAY is never a failure: its proving faults make it SKIP "not offered (MAY): ..." (see the docstring).
MAY = frozenset(r.id for r in CATALOGUE.active if r.level is Level.MAY)
# Judged only when the behaviour occurs (e.g. an in-band stream error): SKIP on the clean provider.
OBSERVATIONAL = {r.id for r in CATALOGUE.active if "observational" in r.tags}
TABLE: dict[str, list[str]] = json.loads(
    (Path(__file__).parent / "fixtures" / "fault_table.json").read_text(encoding="utf-8")
)
# Faults that are more than one behaviour, each its own finding (why, for each).
SEVERAL_BEHAVIOURS: dict[str, str] = {}


def owners(fault: str) -> dict[str, str | None]:
    """For each requirement listing ``fault``: the listed requirement that reports its behaviour (None:
    its own finding), as the engine defers when exactly the listed requirements see the fault."""
    declared = DECLARED.get(fault, set()) - MAY

    def outcome_of(rid: str) -> Outcome:
        return Outcome.FAIL if rid in declared else Outcome.PASS

    return {rid: owner_of(rid, outcome_of, CATALOGUE) for rid in declared}


# Judged here, in-process, the legal variations too (but for the property run); one fault per site, the
# timing faults and the variations a group at a time are judged by whole runs through the CLI
# (test_meta_end_to_end.py), the hostile faults of one request by whole runs in test_hostile.py.
SCOPED = sorted(set(FAULTS) - set(END_TO_END) - set(HOSTILE_ONE_REQUEST))


JUDGED_FAULTS = sorted(set(DECLARED) & set(SCOPED))
# How many tests read each fault's results (the three parametrized below). tests/conftest.py runs the
# tests of one fault one after another, and the results are dropped after the last of them: a worker
# holds one fault's run at a time (kept all, they grew past 7 GB and the garbage collector's passes
# over them slowed the whole file down).
USES = Counter([*JUDGED_FAULTS, *SCOPED, *JUDGED_FAULTS])
# The per-fault tests are split over two files (this one and test_meta_faults.py), so that --dist loadfile
# gives them to two workers: in one file they were half the suite's time on one worker.
# Every other one by name: the costly ones (the prop-* faults, judged with a property run) cluster by name.
SECOND_HALF = frozenset(SCOPED[1::2])


def half(faults: list[str], second: bool) -> list[str]:
    return [fault for fault in faults if (fault in SECOND_HALF) is second]


class Judged:
    """fault → its check results, each fault judged once per session and kept until its last reader."""

    def __init__(self, server: ReferenceServer) -> None:
        self.server = server
        self.clean = clean_run(server)
        self._done: dict[str, dict[str, CheckResult]] = {}
        self._left: dict[str, int] = {}

    def __call__(self, fault: str) -> dict[str, CheckResult]:
        results = self._done.pop(fault, None)
        if results is None:
            results = scoped_run(self.server, self.clean, fault)
        left = self._left.get(fault, USES[fault]) - 1
        self._left[fault] = left
        if left > 0:
            self._done[fault] = results
        return results


@pytest.fixture(scope="session")
def judged(reference_server: ReferenceServer) -> Judged:
    return Judged(reference_server)


@pytest.fixture(scope="session")
def clean(judged: Judged) -> CleanRun:
    return judged.clean


def node_skipped(results: dict[str, CheckResult], requirement_id: str) -> bool:
    """An SDK-NODE check SKIPs, with its reason, where node or the npm registry is not available; that
    path is proven by tests/test_sdk_oracle.py, so the meta-tests do not depend on it."""
    return requirement_id.startswith("SDK-NODE-") and outcomes(results).get(requirement_id) is Outcome.SKIP


def test_a_passing_check_reports_what_it_observed(clean: CleanRun) -> None:
    notes = {r.requirement: r.message for r in clean.results.values() if r.outcome is Outcome.PASS and r.message}
    assert notes["CHAT-REASON-003"] == "reasoning in reasoning_content, streamed and not"


def test_clean_reference_provider_passes_every_requirement(clean: CleanRun) -> None:
    allowed = {rid: Outcome.SKIP for rid in OBSERVATIONAL}
    found = outcomes(clean.results)
    not_passed = {
        rid: outcome
        for rid, outcome in found.items()
        if outcome not in (Outcome.PASS, allowed.get(rid)) and not node_skipped(clean.results, rid)
    }
    messages = {r.requirement: r.message for r in clean.results.values() if r.requirement in not_passed}
    assert not not_passed, messages
    assert set(found) == {r.id for r in CATALOGUE.active}
    assert TABLE["(clean)"]["failing"] == []  # type: ignore[index]


def expected_table_row(fault: str) -> list[str]:
    """What the catalogue says a fault's row must be: the requirements listing it that own its behaviour
    (the property ones only where a property requirement lists the fault: they are run for no other
    fault)."""
    declared = {rid for rid, owner in owners(fault).items() if owner is None}
    return sorted(declared if fault in PROPERTY_FAULTS else declared - PROPERTY)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_the_table_says_what_the_catalogue_says(fault: str) -> None:
    assert TABLE[fault] == expected_table_row(fault)


def fails_exactly_its_requirements(judged: Judged, fault: str) -> None:
    results = judged(fault)
    expected = set(expected_table_row(fault))
    observed = failing(results) - (PROPERTY - expected)
    found = outcomes(results)
    deferred = {rid: owner for rid, owner in owners(fault).items() if owner is not None}
    for rid, owner in deferred.items():
        if node_skipped(results, rid) and not any(r.see for r in results.values() if r.requirement == rid):
            continue
        seen = [(r.outcome, r.see, r.violation is not None) for r in results.values() if r.requirement == rid]
        why = f"{fault}: {rid} should SKIP 'see {owner}' with its violation kept (one behaviour, one finding): {seen}"
        assert found.get(rid) is Outcome.SKIP, why
        assert (Outcome.SKIP, owner, True) in seen, why
    missing = {rid: found.get(rid) for rid in expected - observed if not node_skipped(results, rid)}
    extra = {r.requirement: r.message for r in results.values() if r.requirement in observed - expected}
    assert not missing, f"{fault} should make these FAIL, but they were: {missing}"
    assert not extra, f"{fault} also made these FAIL (list the fault on them, or make the fault narrower): {extra}"
    not_offered = {
        rid: (found.get(rid), [r.message for r in results.values() if r.requirement == rid])
        for rid in DECLARED[fault] & MAY
    }
    for rid, (outcome, messages) in not_offered.items():
        assert outcome is Outcome.SKIP, f"{fault} should make the MAY {rid} SKIP, not {outcome}"
        assert any(m.startswith(f"{NOT_OFFERED}: ") for m in messages), f"{rid}: {messages}"


@pytest.mark.parametrize("fault", sorted(f for f in set(DECLARED) - set(VARIATIONS) if DECLARED[f] - MAY))
def test_one_behaviour_is_one_finding(fault: str) -> None:
    owning = expected_table_row(fault)
    if fault in SEVERAL_BEHAVIOURS:
        assert len(owning) > 1, f"{fault} is one finding now: drop it from SEVERAL_BEHAVIOURS"
        return
    assert len(owning) == 1, (
        f"{fault} is reported as {len(owning)} findings {owning}: name the owner of the behaviour and list the "
        "others in its see_also, or make the fault narrower"
    )


def test_every_must_shown_by_an_sdk_check_is_seen_by_it() -> None:
    """A MUST's ``shown_by: SDK-...`` is evidence only if that SDK check sees at least one of the MUST's
    proving faults (the meta-tests prove it does: FAIL, or SKIP "see" with its violation)."""
    unshown = [
        (r.id, b.shown_by)
        for r in CATALOGUE.active
        if r.level is Level.MUST
        for b in r.breaks
        if b.shown_by.startswith("SDK-") and b.shown_by != r.id
        if not any(b.shown_by in DECLARED.get(fault, set()) for fault in r.faults)
    ]
    assert not unshown, f"shown_by an SDK check that none of the requirement's faults shows: {unshown}"


def the_fault_table_is_unchanged(judged: Judged, fault: str) -> None:
    assert sorted(failing(judged(fault))) == TABLE[fault]


def failing_report_carries_evidence(judged: Judged, fault: str) -> None:
    results = judged(fault)
    for result in results.values():
        if result.requirement not in DECLARED[fault] or node_skipped(results, result.requirement):
            continue
        if not result.outcome.is_failure and not (result.see and result.violation is not None):
            continue
        violation = result.violation
        assert violation is not None, result
        assert violation["title"], result
        assert violation["evidence"], f"{result.requirement} failed without evidence"
        assert violation["evidence"][0]["url"].startswith("http://127.0.0.1:")


def test_every_registered_fault_proves_a_requirement() -> None:
    orphans = sorted(set(FAULTS) - set(DECLARED) - set(VARIATIONS))
    assert not orphans, f"faults no requirement lists (a fault that proves nothing): {orphans}"


def test_every_declared_fault_exists() -> None:
    unknown = sorted(set(DECLARED) - set(FAULTS))
    assert not unknown, f"requirements list faults the reference provider does not have: {unknown}"


def test_the_table_covers_every_fault() -> None:
    assert set(TABLE) - {"(clean)"} == set(FAULTS)


# -- the per-fault tests, first half (the second is in test_meta_faults.py) ------------------------------


@pytest.mark.parametrize("fault", half(JUDGED_FAULTS, second=False))
def test_fault_fails_exactly_its_requirements(judged: Judged, fault: str) -> None:
    fails_exactly_its_requirements(judged, fault)


@pytest.mark.parametrize("fault", half(SCOPED, second=False))
def test_the_fault_table_is_unchanged(judged: Judged, fault: str) -> None:
    the_fault_table_is_unchanged(judged, fault)


@pytest.mark.parametrize("fault", half(JUDGED_FAULTS, second=False))
def test_failing_report_carries_evidence(judged: Judged, fault: str) -> None:
    failing_report_carries_evidence(judged, fault)
