"""Write the rows of named faults into the fault table (tests/fixtures/fault_table.json), leaving the
others as they are: the cheap way to add a new fault's row, judged as scripts/fault_table.py judges
every row (a full run of the reference provider with the fault, cached like the tests' runs).

    PYTHONPATH=. python scripts/rows.py FAULT [FAULT ...]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from conformance.reference import ReferenceServer
from tests.conftest import TEST_KEY
from tests.suite_runs import cached_report, failing

TABLE = Path("tests/fixtures/fault_table.json")


def main(names: list[str]) -> None:
    server = ReferenceServer(api_key=TEST_KEY, multiplex=True, stream_delay=0.001).start()
    table = json.loads(TABLE.read_text(encoding="utf-8"))
    try:
        for name in names:
            table[name] = sorted(failing(cached_report(server.fault_base_url(name), TEST_KEY)))
            print(name, table[name], flush=True)
    finally:
        server.stop()
    TABLE.write_text(json.dumps(table, indent=1, sort_keys=True) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
