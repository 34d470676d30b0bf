"""Run the suite in-process through pytest and produce the report.

``run()`` is the library entry point the CLI wraps: it checks that the target answers at all, runs
the checks in ``conformance.suite`` with the plugin, then builds, validates and writes report.json.

An interrupted run (Ctrl-C, or SIGTERM from a CI runner) still writes its report: what ran is
reported, the rest is marked "not run", ``run.aborted`` says why, and the exit code is 128 + the
signal number (130 for SIGINT, 143 for SIGTERM). A run stopped by its time limit (``--run-timeout``)
ends the same way, with exit code 124.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.core.catalogue import load_catalogue
from conformance.core.results import CheckResult
from conformance.plugin import RunState, install_state
from conformance.report.json_report import build_report, write_json
from conformance.target import Target

SUITE_DIR = Path(__file__).resolve().parent / "suite"

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


class _Bridge:
    """Hands the prepared RunState to the plugin before anything reads the options."""

    def __init__(self, state: RunState, on_collected: Callable[[int], None] | None) -> None:
        self.state = state
        self.on_collected = on_collected
        self.collected = 0
        self.interrupted = False
        self.out_of_time = False

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> bool | None:
        # Past the run time limit no further check starts (not even its fixtures: an SDK's set-up costs
        # seconds); pytest ends the session, and the report marks the rest "not run".
        client = self.state._client
        if client is not None and client.run_deadline is not None and time.monotonic() >= client.run_deadline:
            self.out_of_time = True
            item.session.shouldstop = "run time limit reached"
            return True
        return None

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        install_state(config, self.state)

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # Collection errors end the session through the same hook (Session.Interrupted is a
        # KeyboardInterrupt): those are our errors, reported as such, not an interruption.
        if not isinstance(excinfo.value, pytest.Session.Interrupted):
            self.interrupted = True

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        self.collected = len(session.items)
        if self.on_collected is not None:
            self.on_collected(len(session.items))


def pytest_args(extra: list[str] | None = None) -> list[str]:
    """Arguments that isolate the inner pytest run from the user's working directory and settings."""
    return [
        str(SUITE_DIR),
        "--rootdir",
        str(SUITE_DIR),
        "-c",
        os.devnull,  # ignore any pytest.ini / pyproject.toml in the cwd
        "-p",
        "conformance.plugin",
        "-p",
        "no:cacheprovider",  # never write .pytest_cache into the user's cwd
        "-p",
        "no:randomly",
        "-p",
        "no:terminal",  # the CLI renders progress and results itself; pytest stays silent
        "-p",
        "no:warnings",
        *(extra or []),
    ]


_CALLER_PYTEST_ENV = ("PYTEST_ADDOPTS", "PYTEST_PLUGINS", "PYTEST_DISABLE_PLUGIN_AUTOLOAD")


def _pytest_main(args: list[str], bridge: _Bridge) -> int | pytest.ExitCode:
    """``pytest.main`` shielded from the caller's pytest environment: PYTEST_ADDOPTS ("-x", "--co") or
    PYTEST_PLUGINS would change which checks run, and auto-loaded third-party plugins may change how
    (and cost seconds of imports). The plugin the suite needs is loaded explicitly by ``pytest_args``."""
    saved = {name: os.environ.get(name) for name in _CALLER_PYTEST_ENV}
    os.environ.pop("PYTEST_ADDOPTS", None)
    os.environ.pop("PYTEST_PLUGINS", None)
    os.environ["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    try:
        return pytest.main(args, plugins=[bridge])
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


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
    pytest_extra: list[str] | None = None,
) -> RunResult:
    """Score ``target``; write ``report.json`` into ``out_dir`` (None: write nothing)."""
    catalogue = load_catalogue()
    selected = frozenset(only) if only else None
    if selected:
        unknown = sorted(selected - set(catalogue.ids()))
        if unknown:
            raise ValueError(f"unknown requirement id(s): {', '.join(unknown)}")
    state = RunState(target=target, catalogue=catalogue, selected=selected, on_result=on_result)
    bridge = _Bridge(state, on_collected)
    aborted: str | None = None
    code: int | None = None
    with _signals_interrupt() as signals:
        try:
            unreachable = unreachable_reason(state)
            if unreachable is not None:
                aborted, code = f"target unreachable: {unreachable}", EXIT_UNREACHABLE
            elif _pytest_main(pytest_args(pytest_extra), bridge) == pytest.ExitCode.INTERRUPTED and (
                bridge.interrupted or signals
            ):
                raise KeyboardInterrupt  # pytest caught it and ended the session: report it the same way
            elif bridge.out_of_time:
                ran, limit = len(state.results), target.max_run_seconds
                aborted = f"run time limit of {limit:g} s reached after {ran} of {bridge.collected} checks"
                code = EXIT_OUT_OF_TIME
        except KeyboardInterrupt:
            signum = signals[0] if signals else signal.SIGINT
            ran = len(state.results)
            total = f" of {bridge.collected}" if bridge.collected else ""
            aborted = f"interrupted by {signal.Signals(signum).name} after {ran}{total} checks"
            code = 128 + signum
        # From here on a further signal is only noted: the partial report is written first.
        state.close()
        report = build_report(state, aborted=aborted)
        path = write_json(report, Path(out_dir) / "report.json") if out_dir is not None else None
    if code is None:
        code = EXIT_OK if report["summary"]["verdicts"]["client_compatible"] else EXIT_MUST_FAILURES
    return RunResult(report=report, exit_code=code, report_path=path)


@contextlib.contextmanager
def _signals_interrupt() -> Iterator[list[int]]:
    """While the run lasts, the first SIGINT or SIGTERM raises KeyboardInterrupt (pytest ends the session
    cleanly on it); later ones are only recorded, so that nothing interrupts writing the partial report.
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
