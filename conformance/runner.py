"""Run the suite in-process through pytest and produce the report.

``run()`` is the library entry point the CLI wraps: it checks that the target answers at all, runs
the checks in ``conformance.suite`` with the plugin, then builds, validates and writes report.json.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from conformance.catalogue import load_catalogue
from conformance.plugin import RunState, install_state
from conformance.report.json_report import build_report, write_json
from conformance.results import CheckResult
from conformance.target import Target

SUITE_DIR = Path(__file__).resolve().parent / "suite"

EXIT_OK, EXIT_MUST_FAILURES, EXIT_USAGE, EXIT_UNREACHABLE = 0, 1, 2, 3


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

    @pytest.hookimpl(tryfirst=True)
    def pytest_configure(self, config: pytest.Config) -> None:
        install_state(config, self.state)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
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
    aborted = unreachable_reason(state)
    if aborted is None:
        pytest.main(pytest_args(pytest_extra), plugins=[_Bridge(state, on_collected)])
    state.close()
    report = build_report(state, aborted=f"target unreachable: {aborted}" if aborted else None)
    path = write_json(report, Path(out_dir) / "report.json") if out_dir is not None else None
    if aborted:
        code = EXIT_UNREACHABLE
    else:
        code = EXIT_OK if report["summary"]["verdicts"]["client_compatible"] else EXIT_MUST_FAILURES
    return RunResult(report=report, exit_code=code, report_path=path)
