"""Meta-tests: every check can fail, and fails only for the faults that say so.

* the clean reference provider passes every requirement;
* for every fault, the requirements that FAIL are exactly those whose catalogue entry lists it —
  so each check is shown to catch what it claims, and no check fires on a deviation it does not own.

The property requirements (tagged "property", conformance/property/) are the exception: the
property run judges every answer of every operation, so it also notices most deviations a
hand-written check owns (a chunk without an id violates the response schema too), and listing every
fault on them would say nothing. A fault they list must make them FAIL; for any other fault they are
left out of the comparison -- and out of the run, which keeps ~150 suite runs fast (a property run is
about a hundred requests). They still run for the clean provider and every legal variation, which
must pass them.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance.core.catalogue import load_catalogue
from conformance.reference import FAULTS, ReferenceServer
from tests.conftest import TEST_KEY
from tests.suite_runs import PROPERTY, PROPERTY_FAULTS, cached_report, failing, outcomes

CATALOGUE = load_catalogue()
DECLARED: dict[str, set[str]] = {}
for _requirement in CATALOGUE.active:
    for _fault in _requirement.faults:
        DECLARED.setdefault(_fault, set()).add(_requirement.id)
VARIATIONS = sorted(name for name, fault in FAULTS.items() if fault.legal)
# Judged only when the behaviour occurs (e.g. an in-band stream error): SKIP on the clean provider.
OBSERVATIONAL = {r.id for r in CATALOGUE.active if "observational" in r.tags}


def fault_report(reference_server: ReferenceServer, fault: str) -> dict[str, Any]:
    """The run of one fault; it includes the property tests only if a property requirement lists it."""
    return cached_report(reference_server.fault_base_url(fault), TEST_KEY, property_tests=fault in PROPERTY_FAULTS)


def test_clean_reference_provider_passes_every_requirement(reference_server: ReferenceServer) -> None:
    report = cached_report(reference_server.base_url, TEST_KEY)
    allowed = {rid: "SKIP" for rid in OBSERVATIONAL}
    not_passed = {
        rid: outcome
        for rid, outcome in outcomes(report).items()
        if outcome not in ("PASS", allowed.get(rid)) and not node_skipped(report, rid)
    }
    messages = {row["id"]: row["message"] for row in report["results"] if row["id"] in not_passed}
    assert not not_passed, messages
    assert report["summary"]["verdicts"] == {"client_compatible": True, "spec_conformant": True}
    assert len(report["results"]) == len(CATALOGUE.active)


@pytest.mark.parametrize("fault", sorted(DECLARED))
def test_fault_fails_exactly_its_requirements(reference_server: ReferenceServer, fault: str) -> None:
    report = fault_report(reference_server, fault)
    expected = DECLARED[fault]
    observed = failing(report) - (PROPERTY - expected)
    missing = {rid: outcomes(report)[rid] for rid in expected - observed if not node_skipped(report, rid)}
    extra = {row["id"]: row["message"] for row in report["results"] if row["id"] in observed - expected}
    assert not missing, f"{fault} should make these FAIL, but they were: {missing}"
    assert not extra, f"{fault} also made these FAIL (list the fault on them, or make the fault narrower): {extra}"


def node_skipped(report: dict[str, object], requirement_id: str) -> bool:
    """An SDK-NODE check SKIPs, with its reason, where node or the npm registry is not available; that
    path is proven by tests/test_sdk_oracle.py, so the meta-tests do not depend on it."""
    row = next(r for r in report["results"] if r["id"] == requirement_id)  # type: ignore[union-attr]
    return requirement_id.startswith("SDK-NODE-") and row["outcome"] == "SKIP"


@pytest.mark.parametrize("fault", sorted(DECLARED))
def test_failing_report_carries_evidence(reference_server: ReferenceServer, fault: str) -> None:
    report = fault_report(reference_server, fault)
    for row in report["results"]:
        if row["id"] not in DECLARED[fault] or node_skipped(report, row["id"]):
            continue
        failed = [check for check in row["checks"] if check["outcome"] in ("FAIL", "TIMEOUT")]
        assert failed, row
        violation = failed[0]["violation"]
        assert violation is not None, row
        assert violation["title"], row
        assert violation["evidence"], f"{row['id']} failed without evidence"
        assert violation["evidence"][0]["url"].startswith("http://127.0.0.1:")


@pytest.mark.parametrize("variation", VARIATIONS)
def test_legal_variation_raises_no_false_alarm(reference_server: ReferenceServer, variation: str) -> None:
    report = cached_report(reference_server.fault_base_url(variation), TEST_KEY)
    alarms = {row["id"]: row["message"] for row in report["results"] if row["outcome"] in ("FAIL", "TIMEOUT", "ERROR")}
    assert not alarms, f"the legal variation {variation} was reported as a failure: {alarms}"


@pytest.mark.parametrize("requirement_id", sorted(OBSERVATIONAL))
def test_observational_requirement_passes_when_the_behaviour_occurs(
    reference_server: ReferenceServer, requirement_id: str
) -> None:
    passed_under = [
        v
        for v in VARIATIONS
        if outcomes(cached_report(reference_server.fault_base_url(v), TEST_KEY))[requirement_id] == "PASS"
    ]
    assert passed_under, f"{requirement_id} never PASSes: no legal variation exercises it"


def test_every_registered_fault_proves_a_requirement() -> None:
    orphans = sorted(set(FAULTS) - set(DECLARED) - set(VARIATIONS))
    assert not orphans, f"faults no requirement lists (a fault that proves nothing): {orphans}"


def test_every_declared_fault_exists() -> None:
    unknown = sorted(set(DECLARED) - set(FAULTS))
    assert not unknown, f"requirements list faults the reference provider does not have: {unknown}"
