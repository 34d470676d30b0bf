"""One behaviour, one finding (conformance/engine/deferral.py): which failures become SKIP "see ID"."""

from __future__ import annotations

import pytest
import yaml

from conformance.core.catalogue import parse_catalogue
from conformance.core.results import CheckResult, Outcome, requirement_outcome
from conformance.engine.deferral import defer

# A owns the behaviour that B and C trip over; B owns what D trips over (so D → B → A is a chain).
BASE = {"level": "SHOULD", "title": "t", "statement": "s", "source": "s", "endpoint": "e", "capability": "chat",
        "breaks": [], "faults": ["f"]}  # fmt: skip
CATALOGUE = parse_catalogue(
    yaml.safe_dump(
        {
            "version": 1,
            "requirements": [
                {**BASE, "id": "A-001", "see_also": ["B-001", "C-001"]},
                {**BASE, "id": "B-001", "see_also": ["D-001"]},
                {**BASE, "id": "C-001"},
                {**BASE, "id": "D-001"},
                {**BASE, "id": "E-001"},
            ],
        }
    )
)
F, P, S, T, E = Outcome.FAIL, Outcome.PASS, Outcome.SKIP, Outcome.TIMEOUT, Outcome.ERROR


def results(**outcomes: Outcome) -> list[CheckResult]:
    return [
        CheckResult(
            requirement=rid.replace("_", "-"),
            check=rid,
            outcome=o,
            duration_s=0.0,
            message=f"{rid} says so\nExpected: x",
            violation={"title": rid} if o is F else None,
        )
        for rid, o in outcomes.items()
    ]


@pytest.mark.parametrize(
    ("outcomes", "seen"),
    [
        ({"A_001": F, "B_001": F, "C_001": F}, {"B-001": "A-001", "C-001": "A-001"}),
        ({"A_001": P, "B_001": F, "C_001": F}, {}),  # the owner passes: each failure is its own finding
        ({"A_001": F, "B_001": P, "D_001": F}, {}),  # D defers to B only, which passed
        ({"A_001": F, "B_001": F, "D_001": F}, {"B-001": "A-001", "D-001": "A-001"}),  # the chain's root
        ({"A_001": P, "B_001": F, "D_001": F}, {"D-001": "B-001"}),
        ({"A_001": T, "B_001": F}, {}),  # a timeout owns nothing
        ({"A_001": E, "B_001": F}, {}),  # nor does our own error
        ({"A_001": F, "B_001": T}, {}),  # only a FAIL is deferred
        ({"A_001": F, "E_001": F}, {}),  # unrelated requirements both stay failures
    ],
)
def test_a_failure_whose_behaviour_another_failure_owns_is_skipped_with_a_see(
    outcomes: dict[str, Outcome], seen: dict[str, str]
) -> None:
    judged = {r.requirement: r for r in defer(results(**outcomes), CATALOGUE)}
    assert {rid: r.see for rid, r in judged.items() if r.see} == seen
    for rid, owner in seen.items():
        assert judged[rid].outcome is Outcome.SKIP
        assert judged[rid].message == f"see {owner} (the same behaviour): {rid.replace('-', '_')} says so"
        assert judged[rid].violation is not None  # the evidence of what the check saw is kept
    untouched = set(judged) - set(seen)
    assert {rid: judged[rid].outcome for rid in untouched} == {
        rid.replace("_", "-"): o for rid, o in outcomes.items() if rid.replace("_", "-") in untouched
    }


def test_a_deferred_case_is_not_outvoted_by_a_passing_case() -> None:
    cases = [
        CheckResult("B-001", "b[1]", Outcome.PASS, 0.0),
        CheckResult("B-001", "b[2]", Outcome.FAIL, 0.0, "b[2] fails", {"title": "b"}),
        CheckResult("A-001", "a", Outcome.FAIL, 0.0, "a fails", {"title": "a"}),
    ]
    judged = [r for r in defer(cases, CATALOGUE) if r.requirement == "B-001"]
    assert requirement_outcome(judged) is Outcome.SKIP


def test_nothing_is_deferred_when_nothing_fails() -> None:
    clean = results(A_001=P, B_001=P, C_001=S)
    assert defer(clean, CATALOGUE) == tuple(clean)


# A failure that reports several behaviours, each another requirement's (a property run's findings: an
# error without `param` on another endpoint is ERR-002's): SKIP "see" only when every owner FAILs.
@pytest.mark.parametrize(
    ("owned_by", "outcomes", "see"),
    [
        (("C-001", "D-001"), {"C_001": F, "D_001": F}, "C-001"),
        (("C-001", "D-001"), {"C_001": F, "D_001": P}, None),  # one of its behaviours is its own finding
        (("D-001",), {"D_001": F, "B_001": F, "A_001": F}, "A-001"),  # the root of the owner's chain
        (("D-001",), {"D_001": T}, None),  # a timeout owns nothing
        ((), {"C_001": F}, None),  # its own finding
    ],
)
def test_a_failure_owned_by_other_failures_is_skipped_with_a_see(
    owned_by: tuple[str, ...], outcomes: dict[str, Outcome], see: str | None
) -> None:
    found = results(E_001=F, **outcomes)
    found[0] = CheckResult(**{**{k: getattr(found[0], k) for k in found[0].__slots__}, "owned_by": owned_by})
    judged = {r.requirement: r for r in defer(found, CATALOGUE)}
    assert judged["E-001"].see == see
    assert judged["E-001"].outcome is (S if see else F)
    if see and len(owned_by) > 1:
        assert judged["E-001"].message.startswith(f"see {', '.join(owned_by)} (the same behaviour)")
