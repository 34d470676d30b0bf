"""Run the suite through the engine and produce the report.

``run()`` is the library entry point the CLI wraps: it checks that the target answers at all, sends
the probes the selected checks need and judges the checks (:mod:`conformance.engine`), then builds,
validates and writes report.json.

An interrupted run (Ctrl-C, or SIGTERM from a CI runner) still writes its report: what ran is
reported, the rest is marked "not run", ``run.aborted`` says why, and the exit code is 128 + the
signal number (130 for SIGINT, 143 for SIGTERM). A run stopped by its time limit (``--run-timeout``)
ends the same way, with exit code 124.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from conformance.core.catalogue import load_catalogue
from conformance.core.results import CheckResult
from conformance.engine import RunRecord, RunState, execute, select
from conformance.report.json_report import build_report, write_json
from conformance.target import Target

EXIT_OK, EXIT_MUST_FAILURES, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130; SIGTERM gives 143
EXIT_OUT_OF_TIME = 124  # the run time limit (--run-timeout) stopped the run, as timeout(1) says it
# Runs stopped early: the report is partial, so its verdict is not the exit code.
INTERRUPTED_CODES = (128 + signal.SIGINT, 128 + signal.SIGTERM, EXIT_OUT_OF_TIME)


@dataclass
class RunResult:
    report: dict[str, Any]
    exit_code: int
    report_path: Path | None
    record: RunRecord | None = None


def unreachable_reason(state: RunState) -> str | None:
    """Why the target cannot be scored at all (no HTTP answer to GET /models), or None."""
    listing = state.listing()
    if listing is None or listing.status is not None:
        return None
    return f"{listing.error}: {listing.error_detail} ({listing.method} {state.client.redact(listing.url)})"


def run(
    target: Target,
    *,
    out_dir: str | Path | None = "conformance-report",
    only: list[str] | None = None,
    on_result: Callable[[CheckResult], None] | None = None,
    on_collected: Callable[[int], None] | None = None,
) -> RunResult:
    """Score ``target``; write ``report.json`` into ``out_dir`` (None: write nothing)."""
    catalogue = load_catalogue()
    selected = frozenset(only) if only else None
    if selected:
        unknown = sorted(selected - set(catalogue.ids()))
        if unknown:
            raise ValueError(f"unknown requirement id(s): {', '.join(unknown)}")
    state = RunState(target=target, catalogue=catalogue, selected=selected)
    checks = select(state)
    if on_collected is not None:
        on_collected(len(checks))
    results: list[CheckResult] = []
    timings: dict[str, float] = {}
    aborted: str | None = None
    code: int | None = None
    interrupted = False
    with _signals_interrupt() as signals:
        try:
            unreachable = unreachable_reason(state)
            if unreachable is not None:
                aborted, code = f"target unreachable: {unreachable}", EXIT_UNREACHABLE
            elif not execute(state, checks, results, on_result=on_result, timings=timings):
                limit = target.max_run_seconds
                aborted = f"run time limit of {limit:g} s reached after {len(results)} of {len(checks)} checks"
                code = EXIT_OUT_OF_TIME
        except KeyboardInterrupt:
            interrupted = True
            signum = signals[0] if signals else signal.SIGINT
            aborted = f"interrupted by {signal.Signals(signum).name} after {len(results)} of {len(checks)} checks"
            code = 128 + signum
        # From here on a further signal is only noted: the partial report is written first.
        state.close(interrupted=interrupted)
        record = RunRecord.of(state, results, aborted=aborted, timings=timings)
        report = build_report(record)
        path = write_json(report, Path(out_dir) / "report.json") if out_dir is not None else None
    if code is None:
        code = EXIT_OK if report["summary"]["verdicts"]["client_compatible"] else EXIT_MUST_FAILURES
    return RunResult(report=report, exit_code=code, report_path=path, record=record)


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[list[int]]:
    """While the run lasts, the first SIGINT or SIGTERM raises KeyboardInterrupt (the engine stops where
    it is); later ones are only recorded, so that nothing interrupts writing the partial report.
    Signal handlers belong to the main thread: elsewhere (a library caller's worker) nothing changes."""
    received: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield received
        return

    def handler(signum: int, frame: object) -> None:
        received.append(signum)
        if len(received) == 1:
            raise KeyboardInterrupt(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield received
    finally:
        for sig, before in previous.items():
            signal.signal(sig, before)
