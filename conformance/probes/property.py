"""The property run: schemathesis over spec/openapi.yaml, once per run, read by every PROP check."""

from __future__ import annotations

from conformance.engine import RunState, probe
from conformance.property import PropertyRun, run_property_tests


@probe(slow=True)
def property_run(run_state: RunState) -> PropertyRun:
    """One property run per suite run, shared by every PROP check."""
    return run_property_tests(run_state)
