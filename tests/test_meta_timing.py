"""Whole runs through the CLI against the providers whose runs spend time limits (reference/faults/timing.py:
serial, stalled, hung on every request; and the hostile variations): each fails exactly its row of the fault
table; a provider hostile to every request costs a few time limits, not one per check; and two runs give
the same verdicts. Apart from tests/test_meta_end_to_end.py (whose runs they share the helpers of) so that
--dist loadfile gives their waiting to another worker.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.reference import ReferenceServer
from tests.test_meta_end_to_end import TIMING, cli_run, fails_exactly_the_table_row


@pytest.mark.parametrize("fault", TIMING)
def test_a_whole_run_fails_exactly_the_table_row(reference_server: ReferenceServer, tmp_path: Path, fault: str) -> None:
    fails_exactly_the_table_row(cli_run(reference_server, fault, tmp_path), fault)


# A behaviour that hits every request of its kind costs a constant number of time limits, not one per
# check: the round of requests in flight when the provider went silent (at most --concurrency, and what
# was sent as the breaker opened), then two trial requests alone; streams that never end kill their kind
# at once. With the defaults (--timeout 30, --breaker-cooldown 10, --max-stream-seconds 60) that is
# 30 + 10 + 30 + 30 s for POSTs and 60 s for streams beyond the run itself (README, "What it costs").
EVERY_REQUEST = ["transport-every-post-unanswered", "transport-every-stream-endless"]
LIMITS_SPENT = 2 * 4 + 2  # twice the default --concurrency, and two trials
EVERY_REQUEST_RUN_S = 90.0  # the run with 1-2 s limits, on a loaded 2-core machine; unbounded it takes minutes


@pytest.mark.parametrize("fault", EVERY_REQUEST)
def test_a_provider_hostile_to_every_request_costs_a_few_time_limits(
    reference_server: ReferenceServer, tmp_path: Path, fault: str
) -> None:
    run = cli_run(reference_server, fault, tmp_path)
    usage = run.report["usage"]
    assert len(run.failing) == 1
    assert usage["timeouts"] <= LIMITS_SPENT, usage
    assert usage["not_sent"] >= 5, usage  # the rest of its kind: answered by the breaker, not sent
    assert run.report["run"]["duration_s"] < EVERY_REQUEST_RUN_S
    deferred = [row for row in run.report["results"] if f"(see {run.failing[0]})" in row["message"]]
    assert deferred, "the checks that tripped over the same behaviour SKIP with a see"


# Two runs against the same provider give the same verdicts (ARCHITECTURE.md): the timing faults are the
# providers whose verdicts could move with the clock (issue 15: two runs a minute apart differed on 11).
@pytest.mark.parametrize("fault", ["serial-runaway-max-completion-tokens", "transport-stall"])
def test_a_second_run_gives_the_same_verdicts(reference_server: ReferenceServer, tmp_path: Path, fault: str) -> None:
    first = cli_run(reference_server, fault, tmp_path / "first")
    again = cli_run(reference_server, fault, tmp_path / "again", again=True)
    moved = {rid: (outcome, again.outcomes.get(rid)) for rid, outcome in first.outcomes.items()}
    assert {rid: pair for rid, pair in moved.items() if pair[0] != pair[1]} == {}
