"""The per-fault meta-tests of tests/test_meta.py, second half of the faults (see its docstring): a file of
their own so that xdist (--dist loadfile) runs the two halves on two workers."""

from __future__ import annotations

import pytest

from tests.test_meta import (
    JUDGED_FAULTS,
    SCOPED,
    Judged,
    failing_report_carries_evidence,
    fails_exactly_its_requirements,
    half,
    judged,  # noqa: F401  (the fixture, shared with test_meta.py)
    the_fault_table_is_unchanged,
)


@pytest.mark.parametrize("fault", half(JUDGED_FAULTS, second=True))
def test_fault_fails_exactly_its_requirements(judged: Judged, fault: str) -> None:  # noqa: F811
    fails_exactly_its_requirements(judged, fault)


@pytest.mark.parametrize("fault", half(SCOPED, second=True))
def test_the_fault_table_is_unchanged(judged: Judged, fault: str) -> None:  # noqa: F811
    the_fault_table_is_unchanged(judged, fault)


@pytest.mark.parametrize("fault", half(JUDGED_FAULTS, second=True))
def test_failing_report_carries_evidence(judged: Judged, fault: str) -> None:  # noqa: F811
    failing_report_carries_evidence(judged, fault)
