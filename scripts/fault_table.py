"""Write the fault → failing requirement ids table of the reference provider (a test fixture).

For every named fault and legal variation of the reference provider, the requirement ids whose outcome
is FAIL or TIMEOUT, judged as the meta-tests judge them (property requirements only where the fault is
one they list, or for the clean provider and variations; timing faults with their short delays and
limits, tests/suite_runs.py TIMING_RUNS). ``tests/fixtures/fault_table.json`` is the
table the meta-tests compare against: a move of code that changes any row changed a verdict.

    python scripts/fault_table.py [OUT]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conformance.reference import FAULTS, ReferenceServer
from tests.conftest import TEST_KEY
from tests.suite_runs import PROPERTY, cached_report, failing, fault_report, outcomes


def main(out: str = "tests/fixtures/fault_table.json") -> None:
    server = ReferenceServer(api_key=TEST_KEY, multiplex=True, stream_delay=0.001).start()
    table: dict[str, object] = {}
    try:
        clean = cached_report(server.base_url, TEST_KEY)
        table["(clean)"] = {
            "failing": sorted(failing(clean)),
            "not_pass": sorted(rid for rid, o in outcomes(clean).items() if o != "PASS"),
        }
        for name in sorted(FAULTS):
            report = fault_report(server, name, TEST_KEY)
            table[name] = sorted(failing(report))
            print(name, table[name], file=sys.stderr, flush=True)
    finally:
        server.stop()
    Path(out).write_text(json.dumps(table, indent=1, sort_keys=True) + "\n")
    print(f"{len(table)} rows -> {out}; property ids: {len(PROPERTY)}")


if __name__ == "__main__":
    main(*sys.argv[1:])
